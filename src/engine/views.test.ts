import { describe, expect, it } from 'vitest';
import { newRun } from '../runs/transitions.js';
import { job, task } from './testing.js';
import { healthView, jobView, triggersView } from './views.js';

const hooks = { door: { name: 'door', job: 'lights', secret: 's3cret-value' } };

describe('engine views (built from explicit inputs)', () => {
  it('a job view: tasks, triggers without secrets, the last run, the schedule in words and its next run in the zone', () => {
    const lights = job('lights', [task('on', 'echo on')], {
      on: { events: ['motion'] },
      schedule: { spec: { kind: 'every', everyMs: 15 * 60_000, anchor: 0 }, timezone: 'Europe/London', catchup: 'latest', maxCatchup: 10 },
    });
    const last = newRun({ id: 'r_1', job: 'lights', trigger: 'manual', occurrences: 1, tasks: ['on'] }, Date.parse('2026-07-01T10:00:00Z'));
    const view = jobView(lights, {
      lastRun: last,
      scheduleState: { paused: true },
      activeRuns: 2,
      nextRun: Date.parse('2026-07-01T11:00:00Z'),
      hooks,
      describeSchedule: () => 'every 15 minutes',
    });
    expect(view).toMatchObject({
      name: 'lights',
      activeRuns: 2,
      tasks: [{ name: 'on', kind: 'shell', dependsOn: [] }],
      on: { events: ['motion'], hooks: ['door'] },
      lastRun: { id: 'r_1', status: 'queued', trigger: 'manual', createdAt: '2026-07-01T10:00:00.000Z' },
      schedule: { kind: 'every', expression: '15m', description: 'every 15 minutes', paused: true, nextRun: '2026-07-01T12:00:00+01:00' },
    });
    expect(JSON.stringify(view)).not.toContain('s3cret');
  });

  it('an invalid schedule is described, not thrown; a job without triggers has no `on`', () => {
    const broken = job('broken', [task('t', 'true')], {
      schedule: { spec: { kind: 'every', everyMs: 60_000, anchor: 0 }, timezone: 'UTC', catchup: 'none', maxCatchup: 1 },
    });
    const view = jobView(broken, { activeRuns: 0, describeSchedule: () => { throw new Error('no such zone'); } });
    expect(view.schedule?.description).toBe('invalid schedule: no such zone');
    expect(triggersView(broken, hooks)).toEqual({});
  });

  it('a health view: uptime, clock, a failed reload and the disk', () => {
    const view = healthView({
      now: Date.parse('2026-07-01T10:01:05Z'),
      startedAt: Date.parse('2026-07-01T10:00:00Z'),
      version: '1.2.3',
      clock: { trusted: false, lastSeen: Date.parse('2026-07-02T00:00:00Z'), message: 'clock behind' },
      config: { file: '/etc/hearth/hearth.yaml', loadedAt: Date.parse('2026-07-01T10:00:00Z'), jobs: 3 },
      configProblem: { errors: ['hearth.yaml:3:1: bad'], failedAt: Date.parse('2026-07-01T10:01:00Z') },
      runs: { queued: 1, running: 0, waiting: 2 },
    });
    expect(view).toEqual({
      status: 'ok',
      version: '1.2.3',
      startedAt: '2026-07-01T10:00:00.000Z',
      uptimeSeconds: 65,
      clock: { trusted: false, now: '2026-07-01T10:01:05.000Z', lastSeen: '2026-07-02T00:00:00.000Z', message: 'clock behind' },
      config: { file: '/etc/hearth/hearth.yaml', loadedAt: '2026-07-01T10:00:00.000Z', jobs: 3, errors: ['hearth.yaml:3:1: bad'], failedAt: '2026-07-01T10:01:00.000Z' },
      runs: { queued: 1, running: 0, waiting: 2 },
    });
  });
});
