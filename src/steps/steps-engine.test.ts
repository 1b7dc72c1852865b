import { describe, expect, it } from 'vitest';
import type { FakeClock } from '../core/clock.js';
import type { ActionContext, ActionDefinition } from '../actions/types.js';
import type { Run } from '../runs/model.js';
import type { RunStore } from '../runs/store.js';
import { job, testEngine } from '../engine/testing.js';
import { MemoryStepJournal } from './journal.js';
import { MemoryInboxStore } from './inbox.js';
import { MemoryEventLog } from './events.js';
import type { StepApi } from './types.js';

type Workflow = (ctx: ActionContext & { step: StepApi }) => unknown;

/** An action that calls `fn` with the engine's step API, like `action: module` does. */
function workflowAction(name: string, fn: Workflow): ActionDefinition {
  return {
    name,
    validate: () => [],
    execute: async (_params, ctx) => fn(ctx as ActionContext & { step: StepApi }),
  };
}

function workflowJob(name: string, action: string, extra: Parameters<typeof job>[2] = {}) {
  return job(name, [{ name: 'main', action, dependsOn: [], with: {}, env: {}, continueOnError: false }], extra);
}

async function runOf(store: RunStore, id: string): Promise<Run> {
  const run = await store.getRun(id);
  if (!run) throw new Error(`run ${id} missing`);
  return run;
}

async function setup(workflows: Record<string, Workflow>, options: { concurrency?: number; retries?: number; clock?: FakeClock } = {}) {
  const journal = new MemoryStepJournal();
  const inbox = new MemoryInboxStore();
  const events = new MemoryEventLog();
  const actions = Object.entries(workflows).map(([name, fn]) => workflowAction(name, fn));
  const jobs = Object.keys(workflows).map((name) =>
    workflowJob(name, name, options.retries !== undefined ? { retries: { max: options.retries, delayMs: 1000, backoff: 'fixed', maxDelayMs: 1000, jitter: 0 } } : {}),
  );
  const t = await testEngine({
    jobs,
    actions,
    workflows: { journal, inbox, events },
    ...(options.clock ? { clock: options.clock } : {}),
    config: { pools: { default: { name: 'default', concurrency: options.concurrency ?? 4 } } },
  });
  return { ...t, journal, inbox, events };
}

describe('step.run', () => {
  it('journals each result and returns it on replay without calling the function again', async () => {
    const calls: string[] = [];
    const t = await setup({
      wf: async ({ step }) => {
        const a = await step.run('a', () => { calls.push('a'); return { n: 1, at: new Date('2026-01-01T00:00:00Z') }; });
        await step.sleep('pause', '10m');
        const b = await step.run('b', () => { calls.push('b'); return 2; });
        return { a, b };
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('waiting');
    expect(calls).toEqual(['a']);
    await t.clock.advance(10 * 60_000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(calls).toEqual(['a', 'b']);
    // The first run returns the JSON form too, so a replay sees exactly what the first run saw.
    expect(done.tasks.main!.output).toEqual({ a: { n: 1, at: '2026-01-01T00:00:00.000Z' }, b: 2 });
    expect(done.tasks.main!.attempts).toBe(1);
  });

  it('reads the journal only where an earlier attempt of the run may have written it (not on a run\'s first attempt)', async () => {
    const calls: string[] = [];
    let failures = 1;
    const t = await setup({
      wf: async ({ step }) => {
        await step.run('a', () => calls.push('a'));
        await step.sleep('pause', '10m');
        await step.run('b', () => {
          calls.push('b');
          if (failures-- > 0) throw new Error('flaky');
        });
      },
      plain: async () => 'done',
    }, { retries: 1 });
    const loads: string[] = [];
    const load = t.journal.load.bind(t.journal);
    t.journal.load = (runId) => {
      loads.push(runId);
      return load(runId);
    };
    const plain = await t.engine.triggerJob('plain', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, plain.id)).status).toBe('succeeded');
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    expect(loads).toEqual([]);
    // Woken: the parked attempt resumes and replays its journal; then the retry after `b` failed.
    await t.clock.advance(10 * 60_000);
    await t.clock.advance(1000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(calls).toEqual(['a', 'b', 'b']);
    expect(loads).toEqual([run.id, run.id]);
  });

  it('a throwing step fails the attempt, the retry policy applies, and completed steps replay', async () => {
    const calls: string[] = [];
    let failures = 1;
    const t = await setup({
      wf: async ({ step }) => {
        await step.run('first', () => calls.push('first'));
        await step.run('flaky', () => {
          calls.push('flaky');
          if (failures-- > 0) throw new Error('network down');
          return 'ok';
        });
      },
    }, { retries: 2 });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const waiting = await runOf(t.store, run.id);
    expect(waiting.status).toBe('waiting');
    expect(waiting.tasks.main!.error).toBe('network down');
    await t.clock.advance(1000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(calls).toEqual(['first', 'flaky', 'flaky']);
    expect(done.tasks.main!.attempts).toBe(2);
    const entries = t.journal.entries.get(run.id)!;
    expect(entries.filter((e) => e.id === 'flaky').map((e) => e.error ?? 'done')).toEqual(['network down', 'done']);
  });

  it('a duplicate step id fails the run, naming the id', async () => {
    const t = await setup({
      wf: async ({ step }) => {
        await step.run('same', () => 1);
        await step.run('same', () => 2);
      },
    }, { retries: 3 });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('step id "same" is used twice');
    expect(done.tasks.main!.attempts).toBe(1);
  });

  it('a duplicate caught by the workflow still fails the run', async () => {
    const t = await setup({
      wf: async ({ step }) => {
        await step.run('same', () => 1);
        try { await step.run('same', () => 2); } catch { /* swallowed */ }
        return 'done anyway';
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('"same"');
    // Not a replay mismatch: nothing on the task calls for a restart.
    expect(done.tasks.main!.errorCode).toBeUndefined();
  });

  it('a replay that no longer matches the journal fails the run, naming the step and the mismatch', async () => {
    let version = 1;
    const calls: string[] = [];
    const t = await setup({
      wf: async ({ step }) => {
        if (version === 2) await step.run('warm-up', () => calls.push('warm-up'));
        await step.sleep('nap', '1m');
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    // The code changes while the run is suspended: step 1 is now a different step.
    version = 2;
    await t.clock.advance(60_000);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('replay mismatch at step 1 of task main');
    expect(done.error).toContain('the journal has step.sleep("nap") but the code now calls step.run("warm-up")');
    expect(calls).toEqual([]);
  });

  it('marks a replay mismatch on the task, and a retry restarts the job with the same input and an empty journal', async () => {
    let version = 1;
    const seen: unknown[] = [];
    const t = await setup({
      wf: async ({ step, input }) => {
        if (version === 2) await step.run('warm-up', () => seen.push(input));
        await step.sleep('nap', '1m');
        return 'slept';
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual', { input: { room: 'hall' } });
    await t.clock.advance(0);
    version = 2;
    await t.clock.advance(60_000);
    const failed = await runOf(t.store, run.id);
    expect(failed.status).toBe('failed');
    expect(failed.tasks.main!.errorCode).toBe('replay-mismatch');
    const restarted = await t.engine.retryRun(run.id);
    expect(restarted.retryOf).toBe(run.id);
    await t.clock.advance(0);
    // A new run id has a new, empty journal: the changed code runs from its first step.
    expect(seen).toEqual([{ room: 'hall' }]);
    expect(await t.engine.runSteps(restarted.id)).toMatchObject([{ id: 'warm-up' }, { id: 'nap', status: 'waiting' }]);
    await t.clock.advance(60_000);
    const done = await runOf(t.store, restarted.id);
    expect(done.status).toBe('succeeded');
    expect(done.tasks.main!.errorCode).toBeUndefined();
  });

  it('refuses a result over 4 MB and a run over 1,000 steps with clear errors', async () => {
    const t = await setup({
      big: async ({ step }) => step.run('huge', () => 'x'.repeat(4 * 1024 * 1024 + 10)),
      many: async ({ step }) => {
        for (let i = 0; i < 1001; i++) await step.run(`s${i}`, () => i);
      },
    });
    const big = await t.engine.triggerJob('big', 'manual');
    const many = await t.engine.triggerJob('many', 'manual');
    await t.clock.advance(0);
    await t.clock.advance(0);
    const bigRun = await runOf(t.store, big.id);
    expect(bigRun.status).toBe('failed');
    expect(bigRun.error).toMatch(/step "huge": the result is 4\.0 MB; a step result may be at most 4 MB/);
    const manyRun = await runOf(t.store, many.id);
    expect(manyRun.status).toBe('failed');
    expect(manyRun.error).toContain('step "s1000": a run may have at most 1000 steps');
    expect(t.journal.entries.get(many.id)!.length).toBe(1000);
  });
});

describe('an attempt that ended', () => {
  it('a function that ignores a cancel journals nothing more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let late: unknown;
    const t = await setup({
      wf: async ({ step }) => {
        await step.run('first', () => 1);
        await gate; // ignores its signal
        late = await step.run('late', () => 2).catch((error: unknown) => error);
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    await t.engine.cancelRun(run.id);
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('cancelled');
    release();
    await t.clock.advance(0);
    expect(String(late)).toContain('step "late" called after its attempt ended');
    expect(t.journal.entries.get(run.id)!.map((e) => e.id)).toEqual(['first']);
  });
});

describe('step.sleep', () => {
  it('parks the run, frees its pool slot and keeps no timer but the pool\'s', async () => {
    const order: string[] = [];
    const t = await setup({
      sleeper: async ({ step }) => {
        await step.run('before', () => order.push('sleeper:before'));
        await step.sleep('nap', '1h');
        await step.run('after', () => order.push('sleeper:after'));
      },
      quick: async ({ step }) => step.run('only', () => order.push('quick')),
    }, { concurrency: 1 });
    const sleeping = await t.engine.triggerJob('sleeper', 'manual');
    await t.clock.advance(0);
    expect(t.engine.health().runs).toEqual({ queued: 0, running: 0, waiting: 1 });
    const parked = await runOf(t.store, sleeping.id);
    expect(parked.wait).toEqual({ kind: 'timer', at: '2026-03-01T13:00:00.000Z' });
    expect((await t.engine.runSteps(sleeping.id)).map((s) => [s.id, s.status, s.wait])).toEqual([
      ['before', 'succeeded', undefined],
      ['nap', 'waiting', { kind: 'timer', at: '2026-03-01T13:00:00.000Z' }],
    ]);
    expect(parked.tasks.main!.status).toBe('waiting');
    // The only slot is free: another job runs while the first sleeps.
    const quick = await t.engine.triggerJob('quick', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, quick.id)).status).toBe('succeeded');
    await t.clock.advance(3_600_000 - 1);
    expect(order).toEqual(['sleeper:before', 'quick']);
    await t.clock.advance(1);
    expect(order).toEqual(['sleeper:before', 'quick', 'sleeper:after']);
    expect((await runOf(t.store, sleeping.id)).status).toBe('succeeded');
  });

  it('sleepUntil a past time returns at once; a bad duration fails the run naming the step', async () => {
    const t = await setup({
      past: async ({ step }) => {
        await step.sleepUntil('then', new Date('2020-01-01T00:00:00Z'));
        return 'went on';
      },
      bad: async ({ step }) => step.sleep('oops', 'soon'),
    });
    const past = await t.engine.triggerJob('past', 'manual');
    const bad = await t.engine.triggerJob('bad', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, past.id)).tasks.main!.output).toBe('went on');
    const badRun = await runOf(t.store, bad.id);
    expect(badRun.status).toBe('failed');
    expect(badRun.error).toMatch(/^main: step "oops": /);
  });

  it('a workflow that swallows the suspend signal is still suspended', async () => {
    const calls: string[] = [];
    const t = await setup({
      wf: async ({ step }) => {
        try { await step.sleep('nap', '5m'); } catch { /* wrongly swallowed */ }
        await step.run('after', () => calls.push('after')).catch(() => {});
        return 'finished';
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('waiting');
    expect(calls).toEqual([]);
    await t.clock.advance(5 * 60_000);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
    expect(calls).toEqual(['after']);
  });
});

describe('step.waitForInput', () => {
  const ask = (answers: unknown[], options: Partial<Parameters<StepApi['waitForInput']>[1]> = {}): Workflow => async ({ step }) => {
    const files = await step.run('list', () => ['a.txt', 'b.txt']);
    const answer = await step.waitForInput<string>('confirm', { prompt: `Delete ${files.length} files?`, choices: ['yes', 'no'], ...options });
    answers.push(answer);
    return answer;
  };

  it('asks in the inbox, parks with no timer and no slot, and returns the answer on replay', async () => {
    const answers: unknown[] = [];
    const t = await setup({ wf: ask(answers) });
    const timersBefore = t.clock.pendingTimers();
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const [question] = await t.engine.listInbox();
    expect(question).toMatchObject({ runId: run.id, job: 'wf', stepId: 'confirm', prompt: 'Delete 2 files?', choices: ['yes', 'no'], status: 'open' });
    const parked = await runOf(t.store, run.id);
    expect(parked).toMatchObject({ status: 'waiting', wait: { kind: 'input', id: question!.id } });
    expect(t.engine.health().runs.running).toBe(0);
    expect(t.clock.pendingTimers()).toBe(timersBefore); // a question without a timeout arms nothing

    await expect(t.engine.answerQuestion(question!.id, 'maybe')).rejects.toThrow('value must be one of "yes", "no"');
    await t.engine.answerQuestion(question!.id, 'yes');
    await t.clock.advance(0);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(answers).toEqual([{ timedOut: false, value: 'yes', answeredAt: '2026-03-01T12:00:00.000Z' }]);
    expect(await t.engine.listInbox()).toEqual([]);
    await expect(t.engine.answerQuestion(question!.id, 'no')).rejects.toThrow('already answered');
    await expect(t.engine.answerQuestion('q_nope', 'no')).rejects.toThrow('not found');
  });

  it('cancelling a run that waits for an answer takes its question out of the inbox', async () => {
    const t = await setup({ wf: ask([]) });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const [question] = await t.engine.listInbox();
    await t.engine.cancelRun(run.id);
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('cancelled');
    expect(await t.engine.listInbox()).toEqual([]);
    await expect(t.engine.answerQuestion(question!.id, 'yes')).rejects.toThrow('already expired');
  });

  it('validates answers against the JSON schema, naming the field', async () => {
    const t = await setup({
      wf: async ({ step }) => step.waitForInput('settings', {
        prompt: 'Which folder, how old?',
        schema: { type: 'object', properties: { folder: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['folder', 'days'] },
      }),
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    const [question] = await t.engine.listInbox();
    await expect(t.engine.answerQuestion(question!.id, { folder: 'Downloads', days: 0 })).rejects.toThrow(/^value\.days: /);
    await expect(t.engine.answerQuestion(question!.id, { days: 3 })).rejects.toThrow(/^value\.folder: /);
    await t.engine.answerQuestion(question!.id, { folder: 'Downloads', days: 30 });
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).tasks.main!.output).toMatchObject({ value: { folder: 'Downloads', days: 30 } });
  });

  it('an answer given before the run has parked still wakes it', async () => {
    const answers: unknown[] = [];
    let t!: Awaited<ReturnType<typeof setup>>;
    t = await setup({
      wf: async (ctx) => {
        const answer = await ctx.step.waitForInput('now', {
          prompt: 'Quick?',
          schema: { type: 'boolean' },
        }).catch(async (error: unknown) => {
          // The question exists now; answer it before the run has parked, then let the suspension go on.
          const [question] = await t.engine.listInbox();
          await t.engine.answerQuestion(question!.id, true);
          throw error;
        });
        answers.push(answer);
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
    expect(answers).toEqual([{ timedOut: false, value: true, answeredAt: '2026-03-01T12:00:00.000Z' }]);
  });

  it('a timeout returns { timedOut: true }, or throws with onTimeout: throw', async () => {
    const answers: unknown[] = [];
    const t = await setup({ soft: ask(answers, { timeout: '1h' }), hard: ask([], { timeout: '1h', onTimeout: 'throw' }) });
    const soft = await t.engine.triggerJob('soft', 'manual');
    const hard = await t.engine.triggerJob('hard', 'manual');
    await t.clock.advance(0);
    expect((await t.engine.listInbox()).map((q) => q.expiresAt)).toEqual(['2026-03-01T13:00:00.000Z', '2026-03-01T13:00:00.000Z']);
    expect((await runOf(t.store, soft.id)).wait).toMatchObject({ kind: 'input', until: '2026-03-01T13:00:00.000Z' });
    await t.clock.advance(3_600_000);
    expect((await runOf(t.store, soft.id)).status).toBe('succeeded');
    expect(answers).toEqual([{ timedOut: true }]);
    const hardRun = await runOf(t.store, hard.id);
    expect(hardRun.status).toBe('failed');
    expect(hardRun.error).toContain('step "confirm": no answer to "Delete 2 files?" before 2026-03-01T13:00:00.000Z');
    expect(await t.engine.listInbox()).toEqual([]);
  });
});

describe('step.invoke', () => {
  it('a parent and its child complete in a pool of concurrency 1; invoke returns the child\'s output', async () => {
    const seen: unknown[] = [];
    const t = await setup({
      parent: async ({ step }) => {
        const report = await step.invoke<{ lines: number }>('report', { job: 'child', input: { files: 3 } });
        seen.push(report);
        return report;
      },
      child: async ({ step, input }) => step.run('write', () => ({ lines: (input as { files: number }).files * 2 })),
    }, { concurrency: 1 });
    const run = await t.engine.triggerJob('parent', 'manual');
    await t.clock.advance(0);
    await t.clock.advance(0);
    const parent = await runOf(t.store, run.id);
    expect(parent.status).toBe('succeeded');
    expect(seen).toEqual([{ lines: 6 }]);
    const { runs } = await t.store.listRuns({ job: 'child' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', trigger: 'invoke', parentRunId: run.id, input: { files: 3 } });
  });

  it('cancelling a parent cancels the child it waits for', async () => {
    const t = await setup({
      parent: async ({ step }) => step.invoke('report', { job: 'child' }),
      child: async ({ step }) => step.sleep('slow', '1h'),
    });
    const run = await t.engine.triggerJob('parent', 'manual');
    await t.clock.advance(0);
    const [child] = (await t.store.listRuns({ job: 'child' })).runs;
    expect(child!.status).toBe('waiting');
    await t.engine.cancelRun(run.id);
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('cancelled');
    expect((await runOf(t.store, child!.id)).status).toBe('cancelled');
  });

  it('a failed child makes invoke throw its error; an unknown job fails the parent', async () => {
    const t = await setup({
      parent: async ({ step }) => {
        try {
          await step.invoke('report', { job: 'child' });
        } catch (error) {
          return `caught: ${(error as Error).message}`;
        }
      },
      child: async () => { throw new Error('disk on fire'); },
      lost: async ({ step }) => step.invoke('nobody', { job: 'missing' }),
    });
    const run = await t.engine.triggerJob('parent', 'manual');
    const lost = await t.engine.triggerJob('lost', 'manual');
    await t.clock.advance(0);
    const parent = await runOf(t.store, run.id);
    expect(parent.status).toBe('succeeded');
    expect(parent.tasks.main!.output).toMatch(/^caught: step "report": run r_\w+ of child failed: main: disk on fire$/);
    const lostRun = await runOf(t.store, lost.id);
    expect(lostRun.status).toBe('failed');
    expect(lostRun.error).toContain('step "nobody": job "missing" is not in the config');
  });
});

describe('step.waitForEvent and step.sendEvent', () => {
  it('an event sent through the events API (Engine.sendEvent) wakes a workflow waiting for it', async () => {
    const t = await setup({
      wf: async ({ step }) => (await step.waitForEvent<{ side: string }>('door', { event: 'door' })).event?.data,
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('waiting');
    const receipt = await t.engine.sendEvent({ name: 'door', data: { side: 'front' }, id: 'door-1' });
    expect(receipt).toMatchObject({ runs: [], duplicate: false });
    await t.clock.advance(0);
    const done = await runOf(t.store, run.id);
    expect(done.status).toBe('succeeded');
    expect(done.tasks.main!.output).toEqual({ side: 'front' });
  });

  it('step.sendEvent starts the jobs that listen to the event (on: { event }), once across replays', async () => {
    const inputs: unknown[] = [];
    const listener: ActionDefinition = { name: 'listen', validate: () => [], execute: async (_params, ctx) => void inputs.push(ctx.input) };
    const sender: Workflow = async ({ step }) => {
      await step.sendEvent('announce', { name: 'tidy.done', data: { files: 3 } });
      await step.sleep('then', '1m');
    };
    const t = await testEngine({
      jobs: [workflowJob('sender', 'sender'), { ...workflowJob('listener', 'listen'), on: { events: ['tidy.done'] } }],
      actions: [workflowAction('sender', sender), listener],
      workflows: { journal: new MemoryStepJournal(), inbox: new MemoryInboxStore(), events: new MemoryEventLog() },
    });
    const run = await t.engine.triggerJob('sender', 'manual');
    await t.clock.advance(0);
    await t.clock.advance(60_000);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
    const listened = (await t.store.listRuns({ job: 'listener', limit: 10 })).runs;
    expect(listened.map((r) => [r.trigger, r.status])).toEqual([['event', 'succeeded']]);
    expect(inputs).toEqual([{ files: 3 }]);
  });

  it('an event that came after the run began but before the wait is not lost; a later one wakes the parked run', async () => {
    const seen: unknown[] = [];
    let t!: Awaited<ReturnType<typeof setup>>;
    t = await setup({
      wf: async ({ step }) => {
        // The event arrives while the run is already going, before it waits.
        await step.run('meanwhile', async () => { await t.engine.deliverEvent('door', { side: 'front' }); });
        const first = await step.waitForEvent<{ side: string }>('door-1', { event: 'door', match: { side: 'front' } });
        const second = await step.waitForEvent<{ side: string }>('door-2', { event: 'door' });
        seen.push(first.event?.data, second.event?.data);
      },
    });
    const run = await t.engine.triggerJob('wf', 'manual');
    await t.clock.advance(0);
    // The first wait took the early event; the second (any side) must not take it again.
    const parked = await runOf(t.store, run.id);
    expect(parked.status).toBe('waiting');
    expect(parked.wait).toEqual({ kind: 'event', name: 'door' });
    await t.engine.deliverEvent('window', { side: 'back' });
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('waiting');
    await t.engine.deliverEvent('door', { side: 'back' });
    await t.clock.advance(0);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
    expect(seen).toEqual([{ side: 'front' }, { side: 'back' }]);
  });

  it('sendEvent emits exactly once across replays and wakes a run that waits for it; a timeout returns timedOut', async () => {
    const t = await setup({
      sender: async ({ step }) => {
        await step.sendEvent('announce', { name: 'tidy.done', data: { files: 3 } });
        await step.sleep('pause', '1m');
        await step.sendEvent('announce-again', { name: 'tidy.done', data: { files: 0 } });
      },
      listener: async ({ step }) => step.waitForEvent('wait-for-tidy', { event: 'tidy.done', match: { files: 3 }, timeout: '10m' }),
      patient: async ({ step }) => step.waitForEvent('never', { event: 'nobody', timeout: '5m' }),
    });
    const listener = await t.engine.triggerJob('listener', 'manual');
    const patient = await t.engine.triggerJob('patient', 'manual');
    await t.clock.advance(0);
    const sender = await t.engine.triggerJob('sender', 'manual');
    await t.clock.advance(0);
    const heard = await runOf(t.store, listener.id);
    expect(heard.status).toBe('succeeded');
    expect(heard.tasks.main!.output).toMatchObject({ timedOut: false, event: { name: 'tidy.done', data: { files: 3 } } });
    await t.clock.advance(60_000);
    expect((await runOf(t.store, sender.id)).status).toBe('succeeded');
    // Two sendEvent steps, two events, though the function ran twice.
    expect(await t.journal.load(sender.id).then((entries) => entries.filter((e) => e.kind === 'send').length)).toBe(2);
    expect(await t.events.since('tidy.done', 0)).toHaveLength(2);
    await t.clock.advance(5 * 60_000);
    expect((await runOf(t.store, patient.id)).tasks.main!.output).toEqual({ timedOut: true });
  });

  it('a crash between sending and journaling does not send twice (the replay sends the same event id)', async () => {
    const t = await setup({ sender: async ({ step }) => step.sendEvent('announce', { name: 'once', data: 1 }) }, { retries: 1 });
    const append = t.journal.append.bind(t.journal);
    let failOnce = true;
    t.journal.append = async (runId, entry) => {
      if (entry.kind === 'send' && failOnce) {
        failOnce = false;
        throw new Error('disk hiccup');
      }
      return append(runId, entry);
    };
    const run = await t.engine.triggerJob('sender', 'manual');
    await t.clock.advance(0);
    await t.clock.advance(1000);
    expect((await runOf(t.store, run.id)).status).toBe('succeeded');
    expect(await t.events.since('once', 0)).toHaveLength(1);
  });

  it('an event writes only the runs that wait for it', async () => {
    const t = await setup({
      sleeper: async ({ step }) => step.sleep('nap', '1h'),
      listener: async ({ step }) => step.waitForEvent('bell', { event: 'bell', match: { door: 'front' } }),
    });
    const sleeper = await t.engine.triggerJob('sleeper', 'manual');
    await t.engine.triggerJob('listener', 'manual');
    await t.clock.advance(0);
    const written: string[] = [];
    const update = t.store.updateRun.bind(t.store);
    t.store.updateRun = (run) => {
      written.push(run.id);
      update(run);
    };
    await t.engine.deliverEvent('bell', { door: 'back' });
    await t.engine.deliverEvent('doorbell', { door: 'front' });
    expect(written).toEqual([]);
    expect((await runOf(t.store, sleeper.id)).status).toBe('waiting');
  });

  it('events with the same id are delivered once', async () => {
    const t = await setup({});
    expect(await t.engine.deliverEvent('x', 1, 'ev_same')).toEqual({ id: 'ev_same', duplicate: false });
    expect(await t.engine.deliverEvent('x', 2, 'ev_same')).toEqual({ id: 'ev_same', duplicate: true });
  });
});
