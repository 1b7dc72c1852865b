import { FakeClock } from '../core/clock.js';
import type { ActionContext } from './types.js';

/** An ActionContext for tests, collecting log lines in `lines`; its clock is a FakeClock unless one is given. */
export function testActionContext(overrides: Partial<ActionContext> = {}): ActionContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    signal: new AbortController().signal,
    clock: new FakeClock('2026-03-01T12:00:00Z'),
    log: (line) => lines.push(line),
    runId: 'r_0000000000deadbeef',
    job: 'job',
    task: 'task',
    trigger: 'manual',
    attempt: 1,
    upstream: {},
    env: {},
    dataDir: '/tmp/hearth-data',
    configDir: '/tmp',
    ...overrides,
    lines,
  };
}
