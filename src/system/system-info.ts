import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Clock } from '../core/clock.js';
import { parseThrottled, readThrottledText, type ThrottlingFlags } from './throttling.js';

/**
 * The System page's figures. `systeminformation` is imported on first use
 * (an appliance nobody looks at never loads it), the slow, static facts (OS,
 * board model) are read once, and a snapshot is cached for `cacheMs`, so
 * many phones polling the page cost one collection every few seconds.
 * Anything the hardware does not report is `null`, shown as "not reported".
 */

export interface SystemView {
  collectedAt: string;
  hostname: string;
  model: string | null;
  os: string | null;
  arch: string;
  nodeVersion: string;
  uptimeSeconds: number;
  cpus: number;
  load: { one: number; five: number; fifteen: number };
  cpuTemperatureC: number | null;
  throttling: ThrottlingFlags | null;
  memory: { totalBytes: number; availableBytes: number };
  disk: { path: string; totalBytes: number; availableBytes: number } | null;
  addresses: Array<{ interface: string; address: string; family: 'IPv4' | 'IPv6' }>;
  processRssBytes: number;
}

/** The part of `systeminformation` used here (its types are not needed at build time). */
export interface SystemInformationModule {
  cpuTemperature(): Promise<{ main: number | null }>;
  mem(): Promise<{ total: number; available: number }>;
  osInfo(): Promise<{ distro: string; release: string }>;
  system(): Promise<{ manufacturer: string; model: string }>;
}

export interface SystemInfoOptions {
  dataDir: string;
  clock: Clock;
  cacheMs?: number;
  loadModule?: () => Promise<SystemInformationModule>;
  readThrottled?: () => Promise<string | undefined>;
}

export const SYSTEM_CACHE_MS = 5000;

export class SystemInfo {
  private cached: { at: number; view: Promise<SystemView> } | undefined;
  private staticFacts: Promise<{ model: string | null; os: string | null }> | undefined;
  private module: Promise<SystemInformationModule> | undefined;
  /** How many times figures were actually collected (for tests and the benchmark). */
  collections = 0;

  constructor(private readonly options: SystemInfoOptions) {}

  snapshot(): Promise<SystemView> {
    const now = this.options.clock.now();
    const cacheMs = this.options.cacheMs ?? SYSTEM_CACHE_MS;
    if (this.cached && now - this.cached.at < cacheMs) return this.cached.view;
    const view = this.collect();
    this.cached = { at: now, view };
    // A failed collection is not cached: the next request tries again.
    view.catch(() => {
      if (this.cached?.view === view) this.cached = undefined;
    });
    return view;
  }

  private async collect(): Promise<SystemView> {
    this.collections++;
    const si = await this.si();
    const [temperature, memory, facts, throttled, disk] = await Promise.all([
      si.cpuTemperature().catch(() => ({ main: null })),
      si.mem().catch(() => ({ total: os.totalmem(), available: os.freemem() })),
      this.facts(si),
      (this.options.readThrottled ?? readThrottledText)().catch(() => undefined),
      diskOf(this.options.dataDir),
    ]);
    const [one, five, fifteen] = os.loadavg() as [number, number, number];
    return {
      collectedAt: new Date(this.options.clock.now()).toISOString(),
      hostname: os.hostname(),
      model: facts.model,
      os: facts.os,
      arch: process.arch,
      nodeVersion: process.version,
      uptimeSeconds: Math.floor(os.uptime()),
      cpus: os.availableParallelism(),
      load: { one, five, fifteen },
      cpuTemperatureC: validTemperature(temperature.main),
      throttling: throttled === undefined ? null : parseThrottled(throttled) ?? null,
      memory: { totalBytes: memory.total, availableBytes: memory.available },
      disk,
      addresses: lanAddresses(),
      processRssBytes: process.memoryUsage.rss(),
    };
  }

  private si(): Promise<SystemInformationModule> {
    this.module ??= (this.options.loadModule ?? loadSystemInformation)();
    return this.module;
  }

  private facts(si: SystemInformationModule): Promise<{ model: string | null; os: string | null }> {
    this.staticFacts ??= Promise.all([si.system().catch(() => undefined), si.osInfo().catch(() => undefined)]).then(([system, info]) => ({
      model: system && system.model && system.model !== 'Docker Container' ? `${system.manufacturer} ${system.model}`.trim() : system?.model || null,
      os: info ? `${info.distro} ${info.release}`.trim() || null : null,
    }));
    return this.staticFacts;
  }
}

async function loadSystemInformation(): Promise<SystemInformationModule> {
  const module = (await import('systeminformation')) as unknown as { default?: SystemInformationModule } & SystemInformationModule;
  return module.default ?? module;
}

/** systeminformation reports `null` or -1 where no sensor exists. */
function validTemperature(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value !== -1 && value > -40 && value < 150 ? value : null;
}

async function diskOf(path: string): Promise<SystemView['disk']> {
  try {
    const stats = await statfs(path);
    return { path, totalBytes: stats.blocks * stats.bsize, availableBytes: stats.bavail * stats.bsize };
  } catch {
    return null;
  }
}

function lanAddresses(): SystemView['addresses'] {
  const out: SystemView['addresses'] = [];
  for (const [name, entries] of Object.entries(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue;
      if (entry.family === 'IPv6' && entry.address.startsWith('fe80')) continue;
      out.push({ interface: name, address: entry.address, family: entry.family });
    }
  }
  return out;
}
