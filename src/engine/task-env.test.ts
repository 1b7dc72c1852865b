import { describe, expect, it } from 'vitest';
import type { Run } from '../runs/model.js';
import { HEARTH_SECRET_ENV, buildTaskEnv } from './task-env.js';
import { job, task } from './testing.js';

function runOf(): Run {
  return {
    id: 'r_0000000001abcdef',
    job: 'printenv',
    status: 'running',
    trigger: 'manual',
    occurrences: 1,
    createdAt: '2026-03-01T12:00:00.000Z',
    tasks: { main: { name: 'main', status: 'running', attempts: 1 } },
    taskOrder: ['main'],
  };
}

describe('buildTaskEnv', () => {
  it("never passes Hearth's own secrets to a task, and passes the user's variables on", () => {
    const run = runOf();
    const main = task('main', 'env', { env: { TASK_VAR: 'task' } });
    const env = buildTaskEnv({
      run,
      job: job('printenv', [main], { env: { JOB_VAR: 'job' } }),
      task: main,
      state: run.tasks.main!,
      now: Date.parse('2026-03-01T12:00:00Z'),
      dataDir: '/var/lib/hearth',
      baseEnv: { PATH: '/usr/bin:/bin', HOME: '/home/pi', NAS_TOKEN: 'users-own', HEARTH_PASSWORD: 'admin-pw', HEARTH_TOKEN: 'api-token' },
    });
    for (const name of HEARTH_SECRET_ENV) expect(env).not.toHaveProperty(name);
    expect(Object.values(env)).not.toContain('admin-pw');
    expect(Object.values(env)).not.toContain('api-token');
    expect(env).toMatchObject({ PATH: '/usr/bin:/bin', HOME: '/home/pi', NAS_TOKEN: 'users-own', JOB_VAR: 'job', TASK_VAR: 'task' });
    expect(env).toMatchObject({ HEARTH_RUN_ID: run.id, HEARTH_ATTEMPT: '1', HEARTH_DATA_DIR: '/var/lib/hearth' });
  });

  it('names both secrets Hearth reads from its environment', () => {
    expect([...HEARTH_SECRET_ENV].sort()).toEqual(['HEARTH_PASSWORD', 'HEARTH_TOKEN']);
  });
});
