import { describe, expect, it } from 'vitest';
import { newRun, startRun, startTask } from '../runs/transitions.js';
import { recoverInterruptedRun } from './recovery.js';

describe('recoverInterruptedRun', () => {
  it('asks to kill the orphans of every task that was running, also when its pid never reached the disk', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const run = newRun({ id: 'r_1', job: 'flow', tasks: ['a', 'b', 'c'], trigger: 'manual', occurrences: 1 }, now);
    startRun(run, now);
    startTask(run, 'a', now);
    startTask(run, 'b', now);
    run.tasks.a!.pid = 4242; // b crashed before its pid was written
    const asked: Array<number | undefined> = [];
    const recovered = recoverInterruptedRun(run, now, (pid) => asked.push(pid));
    expect(asked.sort()).toEqual([4242, undefined]);
    expect(recovered.resumedTasks.sort()).toEqual(['a', 'b']);
  });
});
