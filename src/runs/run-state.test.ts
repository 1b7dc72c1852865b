import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, isActive, isFinished } from './model.js';
import type { Run, RunStatus } from './model.js';
import { matchesQuery, newestFirst, oldestFirst } from './run-query.js';
import type { NormalizedQuery } from './run-query.js';
import { emptyStateDocument, RunState } from './run-state.js';

const STATUSES: RunStatus[] = [...ACTIVE_RUN_STATUSES, ...FINISHED_RUN_STATUSES];

function run(n: number, job: string, status: RunStatus): Run {
  const at = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
  return { id: `r_${String(n).padStart(14, '0')}aaaa`, job, status, trigger: 'api', occurrences: 1, createdAt: at, tasks: {}, taskOrder: [] } as Run;
}

/** What RunState answered before it had indexes: a scan of every run. */
const reference = {
  matching: (runs: Run[], query: NormalizedQuery, max: number) => runs.filter((r) => matchesQuery(r, query)).sort(newestFirst).slice(0, max),
  active: (runs: Run[]) => runs.filter(isActive).sort(oldestFirst),
  finished: (runs: Run[], job: string) => runs.filter((r) => r.job === job && isFinished(r)).sort(oldestFirst),
};

describe('RunState indexes', () => {
  it('answers every query as a scan of all runs would, through puts, status changes and removals', () => {
    const op = fc.oneof(
      // A run keeps its job for ever: the job follows from the id.
      fc.record({ kind: fc.constant('put' as const), n: fc.integer({ min: 0, max: 60 }), status: fc.constantFrom(...STATUSES) }),
      fc.record({ kind: fc.constant('remove' as const), n: fc.integer({ min: 0, max: 60 }) }),
    );
    const query = fc.record(
      { job: fc.constantFrom('a', 'b', 'c', 'none'), status: fc.constantFrom(...STATUSES), before: fc.integer({ min: 0, max: 61 }), limit: fc.integer({ min: 1, max: 8 }) },
      { requiredKeys: ['limit'] },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(query, { minLength: 1, maxLength: 6 }), (ops, queries) => {
        const state = new RunState();
        const truth = new Map<string, Run>();
        for (const o of ops) {
          if (o.kind === 'put') {
            const r = run(o.n, ['a', 'b', 'c'][o.n % 3]!, o.status);
            state.put(r);
            truth.set(r.id, r);
          } else {
            const id = run(o.n, 'a', 'queued').id;
            state.remove(id);
            truth.delete(id);
          }
        }
        const all = [...truth.values()];
        expect(state.size).toBe(all.length);
        expect(state.activeRuns()).toEqual(reference.active(all));
        for (const job of ['a', 'b', 'c']) {
          expect(state.finishedRuns(job)).toEqual(reference.finished(all, job));
          expect(state.latestRun(job)?.id).toEqual(all.filter((r) => r.job === job).sort(newestFirst)[0]?.id);
        }
        expect([...state.jobs()].sort()).toEqual([...new Set(all.map((r) => r.job))].sort());
        for (const q of queries) {
          const normalized: NormalizedQuery = { limit: q.limit };
          if (q.job !== undefined) normalized.job = q.job;
          if (q.status !== undefined) normalized.status = q.status;
          if (q.before !== undefined) normalized.before = run(q.before, 'a', 'queued').id;
          expect(state.matching(normalized, q.limit)).toEqual(reference.matching(all, normalized, q.limit));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never enumerates every run in state for the per-job, active and status queries the engine makes on each change', () => {
    // 1,000 jobs × 50 kept runs made each of these an Object.values of 50k runs: minutes of CPU at start-up.
    const doc = emptyStateDocument();
    for (let i = 0; i < 200; i++) {
      const r = run(i, `job-${i % 20}`, i % 40 === 0 ? 'running' : i % 7 === 0 ? 'failed' : 'succeeded');
      doc.runs[r.id] = r;
    }
    let enumerations = 0;
    doc.runs = new Proxy(doc.runs, {
      ownKeys(target) {
        enumerations++;
        return Reflect.ownKeys(target);
      },
    });
    const state = new RunState(doc);
    enumerations = 0;
    expect(state.activeRuns().map((r) => r.status)).toEqual(['running', 'running', 'running', 'running', 'running']);
    expect(state.finishedRuns('job-3')).toHaveLength(10);
    expect(state.matching({ job: 'job-3', limit: 5 }, 6)).toHaveLength(6);
    expect(state.matching({ status: 'failed', limit: 5 }, 6)).toHaveLength(6);
    expect(state.latestRun('job-3')?.id).toBe(run(183, 'job-3', 'succeeded').id);
    state.put(run(500, 'job-3', 'queued'));
    state.remove(run(3, 'job-3', 'succeeded').id);
    expect(state.finishedRuns('job-3')).toHaveLength(9);
    expect(enumerations).toBe(0);
  });
});
