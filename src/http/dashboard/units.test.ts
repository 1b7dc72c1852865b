import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { FakeAppliance } from '../testing/fake-appliance.js';
import { html } from './html.js';
import { LiveHub } from './live.js';
import { localPath } from './routes.js';

describe('html', () => {
  it('escapes values and keeps nested templates', () => {
    const name = '<img src=x onerror=alert(1)>"\'&';
    expect(html`<p title="${name}">${html`<b>${name}</b>`}${[1, 2]}${false}${undefined}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"><b>&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;</b>12</p>',
    );
  });
});

describe('localPath', () => {
  it('only follows paths on this dashboard', () => {
    expect(localPath('/jobs/backup?before=r_1')).toBe('/jobs/backup?before=r_1');
    for (const bad of ['//evil.example', '/\\evil', 'https://x', 'javascript:alert(1)', '/jobs"><script>', undefined]) expect(localPath(bad)).toBe('/');
  });
});

describe('LiveHub', () => {
  it('serialises each batch once and hands the same chunk to every viewer', async () => {
    const clock = new FakeClock();
    const appliance = new FakeAppliance();
    const hub = new LiveHub({ appliance, clock, flushMs: 250 });
    hub.start();
    expect(appliance.runListeners.size).toBe(1);
    const viewers = Array.from({ length: 20 }, () => hub.connect(new AbortController().signal).body!.getReader());
    for (const reader of viewers) await reader.read(); // the greeting
    const run = appliance.addRun({ job: 'backup', status: 'running' });
    for (let i = 0; i < 50; i++) appliance.emitRunEvent({ type: 'updated', run });
    await clock.advance(250);
    expect(hub.batches).toBe(1);
    const chunks = await Promise.all(viewers.map(async (reader) => (await reader.read()).value!));
    expect(new Set(chunks).size).toBe(1); // the very same Uint8Array
    expect(new TextDecoder().decode(chunks[0]).match(/event: run/g)).toHaveLength(1);
    // Still one engine subscription, however many viewers.
    expect(appliance.runListeners.size).toBe(1);
    hub.stop();
    expect(appliance.runListeners.size).toBe(0);
    expect((await viewers[0]!.read()).done).toBe(true);
  });

  it('forgets a viewer that disconnects, and does no work with nobody watching', async () => {
    const clock = new FakeClock();
    const appliance = new FakeAppliance();
    const hub = new LiveHub({ appliance, clock });
    hub.start();
    const abort = new AbortController();
    hub.connect(abort.signal);
    expect(hub.viewerCount).toBe(1);
    abort.abort();
    expect(hub.viewerCount).toBe(0);
    appliance.emitRunEvent({ type: 'updated', run: appliance.addRun({ job: 'x' }) });
    await clock.advance(1000);
    expect(hub.batches).toBe(0);
    hub.stop();
  });

  it('arms its heartbeat only while someone watches, so an idle appliance is not woken for it', async () => {
    const clock = new FakeClock();
    const appliance = new FakeAppliance();
    const hub = new LiveHub({ appliance, clock, heartbeatMs: 15_000 });
    hub.start();
    expect(clock.pendingTimers()).toBe(0);
    const abort = new AbortController();
    const reader = hub.connect(abort.signal).body!.getReader();
    await reader.read(); // the greeting
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(15_000);
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('heartbeat');
    abort.abort();
    await clock.advance(15_000); // the last beat finds nobody and is not re-armed
    expect(clock.pendingTimers()).toBe(0);
    hub.stop();
  });
});
