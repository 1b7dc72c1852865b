import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findRunProcessGroups, isGroupAlive, isProcessRunning } from './group.js';
import { TRUNCATION_MARK } from './lines.js';
import { killProcessGroup, runShell, type OutputStream, type ShellOptions } from './shell.js';

/*
 * These tests run real processes: the point is to observe the kernel's process
 * groups. "Gone" is checked with isProcessRunning, i.e. kill(pid, 0) fails with
 * ESRCH or the process is a zombie: in a container whose PID 1 never reaps
 * orphans, a killed grandchild stays a zombie for ever.
 */

const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
);

interface Captured {
  lines: Array<[OutputStream, string]>;
  options: ShellOptions;
}

function shell(command: string, overrides: Partial<ShellOptions> = {}): Captured {
  const lines: Array<[OutputStream, string]> = [];
  const options: ShellOptions = {
    command,
    env: baseEnv,
    killGraceMs: 300,
    signal: new AbortController().signal,
    onLine: (stream, line) => lines.push([stream, line]),
    pipeGraceMs: 100,
    ...overrides,
  };
  return { lines, options };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition not reached in 5 s');
}

function firstPid(lines: Array<[OutputStream, string]>): number {
  const found = lines.find(([, line]) => /^\d+$/.test(line));
  if (!found) throw new Error(`no pid printed in ${JSON.stringify(lines)}`);
  return Number(found[1]);
}

describe('runShell', () => {
  it('reports the exit code', async () => {
    const ok = await runShell(shell('true').options);
    const failed = await runShell(shell('exit 3').options);
    expect(ok).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false });
    expect(failed.exitCode).toBe(3);
    expect(failed.pid).toBeGreaterThan(1);
  });

  it('passes the environment it is given, and only that', async () => {
    const { lines, options } = shell('echo "$HEARTH_JOB/${NOT_GIVEN:-unset}"', {
      env: { PATH: baseEnv.PATH ?? '/usr/bin:/bin', HEARTH_JOB: 'backup' },
    });
    await runShell(options);
    expect(lines).toEqual([['stdout', 'backup/unset']]);
  });

  it('runs in the given cwd', async () => {
    const { lines, options } = shell('pwd', { cwd: '/tmp' });
    await runShell(options);
    expect(lines).toEqual([['stdout', '/tmp']]);
  });

  it('delivers stdout and stderr lines in order and returns the tail of both', async () => {
    const { lines, options } = shell('echo out1; echo err1 >&2; sleep 0.05; echo out2; for i in 1 2 3 4 5; do echo "n$i"; done', {
      tailLines: 3,
    });
    const result = await runShell(options);
    expect(lines.slice(0, 3)).toEqual([
      ['stdout', 'out1'],
      ['stderr', 'err1'],
      ['stdout', 'out2'],
    ]);
    expect(lines).toHaveLength(8);
    expect(result.tail).toEqual(['n3', 'n4', 'n5']);
  });

  it('flushes a final line without a newline and strips CRLF', async () => {
    const { lines, options } = shell(`printf 'a\\r\\nb'; printf 'last-err' >&2`);
    const result = await runShell(options);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['stdout', 'a'],
        ['stdout', 'b'],
        ['stderr', 'last-err'],
      ]),
    );
    expect(lines).toHaveLength(3);
    expect(result.tail).toHaveLength(3);
  });

  it('caps a very long line and keeps going', async () => {
    const { lines, options } = shell(`head -c 20000 /dev/zero | tr '\\0' a; echo; echo next`);
    await runShell(options);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.[1]).toBe('a'.repeat(8192) + TRUNCATION_MARK);
    expect(lines[1]).toEqual(['stdout', 'next']);
  });

  it('times out, killing the shell and a backgrounded grandchild', async () => {
    const { lines, options } = shell('sleep 30 & echo $!; wait', { timeoutMs: 200 });
    const result = await runShell(options);
    const grandchild = firstPid(lines);
    expect(result).toMatchObject({ timedOut: true, cancelled: false, exitCode: null, signal: 'SIGTERM' });
    expect(isProcessRunning(grandchild)).toBe(false);
    expect(isGroupAlive(result.pid!)).toBe(false);
  });

  it('SIGKILLs a grandchild that ignores SIGTERM once the grace has passed', async () => {
    const controller = new AbortController();
    let cancelledAt = 0;
    const { lines, options } = shell(`sh -c 'trap "" TERM; echo ready; sleep 30' & echo $!; wait`, {
      signal: controller.signal,
      killGraceMs: 300,
      onLine: (stream, line) => {
        lines.push([stream, line]);
        if (line === 'ready') {
          cancelledAt = Date.now();
          controller.abort();
        }
      },
    });
    const result = await runShell(options);
    const elapsed = Date.now() - cancelledAt;
    expect(result.cancelled).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(isProcessRunning(firstPid(lines))).toBe(false);
    expect(isGroupAlive(result.pid!)).toBe(false);
  });

  it('reads a kill grace given as a function when the stop begins (a config reload applies to a running command)', async () => {
    const controller = new AbortController();
    let graceMs = 10_000;
    let cancelledAt = 0;
    const { lines, options } = shell(`sh -c 'trap "" TERM; echo ready; sleep 30' & echo $!; wait`, {
      signal: controller.signal,
      killGraceMs: () => graceMs,
      onLine: (stream, line) => {
        lines.push([stream, line]);
        // "ready" (from the background child) and its pid (from the shell) arrive in either order: stop once both are in.
        const seen = lines.map(([, l]) => l);
        if (cancelledAt === 0 && seen.includes('ready') && seen.some((l) => /^\d+$/.test(l))) {
          graceMs = 300;
          cancelledAt = Date.now();
          controller.abort();
        }
      },
    });
    const result = await runShell(options);
    const elapsed = Date.now() - cancelledAt;
    expect(result.cancelled).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(5_000);
    expect(isProcessRunning(firstPid(lines))).toBe(false);
  });

  it('cancels through the AbortSignal', async () => {
    const controller = new AbortController();
    const { options } = shell('sleep 30', { signal: controller.signal });
    const running = runShell(options);
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, timedOut: false, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { lines, options } = shell('echo should-not-run', { signal: controller.signal });
    const result = await runShell(options);
    expect(result).toMatchObject({ cancelled: true, pid: undefined, exitCode: null });
    expect(lines).toEqual([]);
  });

  it('resolves when a background grandchild keeps the pipe open after the shell exits, and kills it', async () => {
    const { lines, options } = shell('sleep 30 & echo $!; echo done', { pipeGraceMs: 100, killGraceMs: 300 });
    const started = Date.now();
    const result = await runShell(options);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(result.tail).toContain('done');
    expect(isProcessRunning(firstPid(lines))).toBe(false);
  });

  it('terminates leftovers in its group that do not hold the pipes', async () => {
    const { lines, options } = shell('sleep 30 >/dev/null 2>&1 & echo $!');
    const result = await runShell(options);
    expect(result.exitCode).toBe(0);
    expect(isProcessRunning(firstPid(lines))).toBe(false);
  });

  it('reports a missing cwd as a spawn failure with exit code 127', async () => {
    const { lines, options } = shell('echo hi', { cwd: '/definitely/not/here' });
    const result = await runShell(options);
    expect(result).toMatchObject({ exitCode: 127, pid: undefined, cancelled: false });
    expect(result.spawnError).toContain('/definitely/not/here');
    expect(lines).toEqual([['stderr', result.spawnError]]);
  });

  it('stops reading a fast command while its output sink has a backlog, and reads on once it drains', async () => {
    let release!: () => void;
    const drained = new Promise<void>((resolve) => (release = resolve));
    let held = true;
    const { lines, options } = shell('i=0; while [ $i -lt 200000 ]; do echo "line $i"; i=$((i+1)); done', {
      backlog: () => (held && lines.length >= 1000 ? drained : undefined),
    });
    const result = runShell(options);
    // The command blocks on the full pipe: what was delivered stops growing.
    await waitUntil(() => lines.length >= 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whileHeld = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines.length).toBe(whileHeld);
    expect(whileHeld).toBeLessThan(20_000); // one pipe read (at most 64 KB ≈ 6,000 of these lines) after the backlog began
    held = false;
    release();
    expect((await result).exitCode).toBe(0);
    expect(lines).toHaveLength(200_000);
    expect(lines[199_999]).toEqual(['stdout', 'line 199999']);
  });

  it('survives an onLine callback that throws, and reports the pid as it spawns', async () => {
    let spawned: number | undefined;
    const { options } = shell('echo a; echo b', {
      onLine: () => {
        throw new Error('log disk full');
      },
      onSpawn: (pid) => (spawned = pid),
    });
    const result = await runShell(options);
    expect(result.tail).toEqual(['a', 'b']);
    expect(spawned).toBe(result.pid);
  });
});

describe('killProcessGroup', () => {
  it('refuses pgids that would signal our own group or every process', () => {
    for (const pgid of [0, 1, -1, -5, 2.5, Number.NaN]) expect(killProcessGroup(pgid, 'SIGKILL')).toBe(false);
  });

  it('kills a detached group left running', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & echo $!; sleep 30'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const grandchild = await new Promise<number>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    expect(killProcessGroup(child.pid!, 'SIGKILL')).toBe(true);
    await exited;
    for (let i = 0; i < 40 && isProcessRunning(grandchild); i++) await new Promise((r) => setTimeout(r, 25));
    expect(isProcessRunning(grandchild)).toBe(false);
  });
});

describe('findRunProcessGroups', () => {
  it('finds the process groups of a run by HEARTH_RUN_ID in their environment, and no others', async () => {
    const runId = `r_orphan${process.pid}x${Date.now()}`;
    const start = (id: string) =>
      spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { detached: true, stdio: 'ignore', env: { ...baseEnv, HEARTH_RUN_ID: id } });
    const orphan = start(runId);
    const other = start(`${runId}other`);
    try {
      // The shell and its background sleep share one group: it is found once.
      for (let i = 0; i < 40 && findRunProcessGroups(runId).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(findRunProcessGroups(runId)).toEqual([orphan.pid]);
      expect(findRunProcessGroups('r_none')).toEqual([]);
    } finally {
      killProcessGroup(orphan.pid!, 'SIGKILL');
      killProcessGroup(other.pid!, 'SIGKILL');
    }
  });
});
