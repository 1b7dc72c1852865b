import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Run } from './model.js';
import { applyRunDelta, copyRun, isRunDelta, runDelta } from './run-delta.js';

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function baseRun(fields: Record<string, unknown> = {}): Run {
  return {
    id: 'r_0000000001000000abcd',
    job: 'a',
    status: 'queued',
    trigger: 'api',
    occurrences: 1,
    createdAt: '2026-03-01T12:00:00.000Z',
    tasks: { main: { name: 'main', status: 'pending', attempts: 0 } },
    taskOrder: ['main'],
    ...fields,
  } as Run;
}

class Point {
  constructor(readonly x: number, private readonly hidden = 'no') {}
}

describe('copyRun', () => {
  it('gives what JSON.parse(JSON.stringify(run)) gives, for the values JSON treats specially', () => {
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const run = baseRun({
      error: undefined,
      input: {
        gone: undefined,
        fn: () => 1,
        nan: Number.NaN,
        inf: -Infinity,
        negativeZero: -0,
        when: new Date('2026-03-01T00:00:00Z'),
        list: [undefined, () => 1, Symbol('s'), 1, [2, { deep: undefined }]],
        map: new Map([[1, 2]]),
        point: new Point(3),
        own: { toJSON: () => ({ replaced: true }) },
        proto,
        2: 'numeric keys come first, as in JSON',
      },
      output: undefined,
    });
    const copy = copyRun(run);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(run));
    expect(copy).toStrictEqual(viaJson(run));
    expect(Object.getPrototypeOf((copy.input as { proto: object }).proto)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(() => copyRun(baseRun({ input: { big: 1n } }))).toThrow(TypeError);
  });

  it('shares nothing with the run it copies', () => {
    const run = baseRun({ input: { list: [{ a: 1 }] } });
    const copy = copyRun(run);
    (run.input as { list: Array<{ a: number }> }).list[0]!.a = 2;
    run.tasks.main!.status = 'running';
    expect(copy.input).toEqual({ list: [{ a: 1 }] });
    expect(copy.tasks.main!.status).toBe('pending');
  });

  it('equals the JSON round trip for any JSON-able input and output', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: false, withMap: true, withSet: true, withDate: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true }), fc.jsonValue(), (input, output) => {
        const run = baseRun({ input, tasks: { main: { name: 'main', status: 'succeeded', attempts: 1, output } } });
        const copy = copyRun(run);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(run));
        expect(copy).toStrictEqual(viaJson(run));
      }),
      { numRuns: 300 },
    );
  });
});

describe('runDelta and applyRunDelta', () => {
  it('names only what changed: fields set, fields removed, and per task', () => {
    const queued = copyRun(baseRun({ error: 'old' }));
    const done = copyRun(baseRun({
      status: 'succeeded',
      startedAt: '2026-03-01T12:00:01.000Z',
      tasks: { main: { name: 'main', status: 'succeeded', attempts: 1, output: { rows: [1, 2] } }, extra: { name: 'extra', status: 'skipped', attempts: 0 } },
    }));
    const delta = runDelta(queued, done);
    expect(delta).toEqual({
      set: { status: 'succeeded', startedAt: '2026-03-01T12:00:01.000Z' },
      del: ['error'],
      tasks: {
        main: { set: { status: 'succeeded', attempts: 1, output: { rows: [1, 2] } } },
        extra: { set: { name: 'extra', status: 'skipped', attempts: 0 } },
      },
    });
    expect(runDelta(done, queued)!.tasks).toEqual({
      main: { set: { status: 'pending', attempts: 0 }, del: ['output'] },
      extra: null,
    });
    expect(runDelta(done, copyRun(done))).toBeUndefined();
    expect(applyRunDelta(queued, viaJson(delta!))).toEqual(done);
    expect(queued).toEqual(copyRun(baseRun({ error: 'old' })));
  });

  const task = fc.record(
    {
      name: fc.constantFrom('main', 'other'),
      status: fc.constantFrom('pending', 'running', 'succeeded', 'failed'),
      attempts: fc.nat(3),
      startedAt: fc.constantFrom('2026-03-01T12:00:00.000Z', '2026-03-01T12:00:01.000Z'),
      pid: fc.nat(),
      exitCode: fc.option(fc.integer(), { nil: null }),
      output: fc.jsonValue(),
      wait: fc.constantFrom({ kind: 'timer', at: '2026-03-02T00:00:00.000Z' }, { kind: 'input', id: 'q1' }),
    },
    { requiredKeys: ['name', 'status', 'attempts'] },
  );
  const run = fc.record(
    {
      status: fc.constantFrom('queued', 'running', 'waiting', 'succeeded'),
      startedAt: fc.constantFrom('2026-03-01T12:00:01.000Z', '2026-03-01T12:00:02.000Z'),
      error: fc.string(),
      input: fc.jsonValue(),
      event: fc.record({ name: fc.constantFrom('door', 'bell'), id: fc.string() }, { requiredKeys: ['name'] }),
      tasks: fc.dictionary(fc.constantFrom('main', 'other', 'third', '__proto__'), task),
      taskOrder: fc.array(fc.constantFrom('main', 'other')),
    },
    { requiredKeys: ['status', 'tasks', 'taskOrder'] },
  );

  it('rebuilds any later version of a run from the earlier one and the delta (as it comes back from its WAL line)', () => {
    fc.assert(
      fc.property(run, run, (a, b) => {
        const base = copyRun(baseRun(a));
        const next = copyRun(baseRun(b));
        const delta = runDelta(base, next);
        if (!delta) {
          expect(JSON.stringify(next)).toBe(JSON.stringify(base));
          return;
        }
        const line = JSON.parse(JSON.stringify({ t: 'upd', id: base.id, n: 2, ...delta })) as Record<string, unknown>;
        expect(isRunDelta(line)).toBe(true);
        expect(applyRunDelta(base, line)).toEqual(next);
      }),
      { numRuns: 500 },
    );
  });
});
