import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, NonRetriableError, RetryAfterError } from '../core/errors.js';
import { describeImportFailure, moduleAction, toJsonValue } from './module.js';
import { testActionContext } from './testing.js';



let dir: string;
const sdkUrl = pathToFileURL(join(import.meta.dirname, 'sdk.ts')).href;

async function fixture(name: string, source: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, source);
  return file;
}

async function failure(params: Record<string, unknown>, ctx = testActionContext({ configDir: dir })): Promise<unknown> {
  return moduleAction.execute(params, ctx).then(
    () => expect.unreachable('the module action should have failed'),
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-module-'));
  await fixture(
    'echo.mjs',
    `export default function (ctx) {
       ctx.log('hello from the module');
       return {
         args: ctx.args, since: ctx.since, scheduledFor: ctx.scheduledFor, attempt: ctx.attempt,
         upstream: ctx.upstream, job: ctx.job, aborted: ctx.signal.aborted,
       };
     }
     export const shout = ({ args }) => String(args).toUpperCase();
     export const notAFunction = 42;`,
  );
  await fixture(
    'errors.mjs',
    `import { NonRetriableError, RetryAfterError } from ${JSON.stringify(sdkUrl)};
     export const fatal = async () => { throw new NonRetriableError('bad credentials'); };
     export const later = async () => { throw new RetryAfterError('rate limited', new Date('2026-05-01T00:00:00Z')); };
     export const custom = () => { const e = new TypeError('sync boom'); e.code = 'E_CUSTOM'; throw e; };`,
  );
  await fixture(
    'values.mjs',
    `export const big = () => 10n;
     export const cyclic = () => { const o = { name: 'loop' }; o.self = o; return o; };
     export const dated = () => ({ at: new Date('2026-01-02T03:04:05Z'), drop: () => 1 });
     export const nothing = () => {};
     export const forever = () => new Promise(() => {});`,
  );
  await fixture('legacy.cjs', `module.exports = { run: ({ args }) => args * 2 };`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('module action: validate', () => {
  it('accepts a path with a loadable extension', () => {
    expect(moduleAction.validate({ path: 'scripts/sync.mjs', export: 'run', args: { a: [1] } })).toEqual([]);
    expect(moduleAction.validate({ path: '/abs/sync.ts' })).toEqual([]);
  });

  it('reports a missing path, a bad extension and unknown fields', () => {
    expect(moduleAction.validate({}).map((issue) => issue.path)).toEqual(['path']);
    expect(moduleAction.validate({ path: 'sync.py' })[0]?.message).toContain('.mjs');
    expect(moduleAction.validate({ path: 'a.js', exports: 'x' })).toEqual([{ path: 'exports', message: 'unknown field' }]);
  });
});

describe('module action: execute', () => {
  it('calls the default export with the context, args and since, relative to the config dir', async () => {
    const lastSuccess = new Date('2026-02-01T00:00:00Z');
    const scheduledFor = new Date('2026-02-02T00:00:00Z');
    const ctx = testActionContext({ configDir: dir, lastSuccess, scheduledFor, attempt: 2, upstream: { fetch: { n: 3 } } });
    const result = await moduleAction.execute({ path: 'echo.mjs', args: { folder: 'notes' } }, ctx);
    expect(result).toEqual({
      args: { folder: 'notes' },
      since: '2026-02-01T00:00:00.000Z',
      scheduledFor: '2026-02-02T00:00:00.000Z',
      attempt: 2,
      upstream: { fetch: { n: 3 } },
      job: 'job',
      aborted: false,
    });
    expect(ctx.lines).toEqual(['hello from the module']);
  });

  it('calls a named export, by absolute path', async () => {
    expect(await moduleAction.execute({ path: join(dir, 'echo.mjs'), export: 'shout', args: 'hi' }, testActionContext())).toBe('HI');
  });

  it('reaches named exports of a CommonJS module', async () => {
    expect(await moduleAction.execute({ path: 'legacy.cjs', export: 'run', args: 21 }, testActionContext({ configDir: dir }))).toBe(42);
  });

  it('fails non-retriably, naming the path, when the file or the export is missing or not a function', async () => {
    const missingFile = await failure({ path: 'nope.mjs' });
    expect(missingFile).toBeInstanceOf(NonRetriableError);
    expect((missingFile as Error).message).toContain(join(dir, 'nope.mjs'));

    const missingExport = await failure({ path: 'echo.mjs', export: 'absent' });
    expect(missingExport).toBeInstanceOf(NonRetriableError);
    expect((missingExport as Error).message).toContain(join(dir, 'echo.mjs'));
    expect((missingExport as Error).message).toContain('shout');

    const notFunction = await failure({ path: 'echo.mjs', export: 'notAFunction' });
    expect(notFunction).toBeInstanceOf(NonRetriableError);
    expect((notFunction as Error).message).toContain('is a number');
  });

  it('lets the module’s own typed errors through unchanged', async () => {
    const fatal = await failure({ path: 'errors.mjs', export: 'fatal' });
    expect(fatal).toBeInstanceOf(NonRetriableError);
    expect((fatal as Error).message).toBe('bad credentials');

    const later = await failure({ path: 'errors.mjs', export: 'later' });
    expect(later).toBeInstanceOf(RetryAfterError);
    expect((later as RetryAfterError).retryAt.toISOString()).toBe('2026-05-01T00:00:00.000Z');

    const custom = await failure({ path: 'errors.mjs', export: 'custom' });
    expect(custom).toBeInstanceOf(TypeError);
    expect(custom).toMatchObject({ message: 'sync boom', code: 'E_CUSTOM' });
  });

  it('normalises the result through JSON, and stores what JSON cannot hold as text', async () => {
    const ctx = testActionContext({ configDir: dir });
    expect(await moduleAction.execute({ path: 'values.mjs', export: 'dated' }, ctx)).toEqual({ at: '2026-01-02T03:04:05.000Z' });
    expect(await moduleAction.execute({ path: 'values.mjs', export: 'nothing' }, ctx)).toBeUndefined();
    expect(await moduleAction.execute({ path: 'values.mjs', export: 'big' }, ctx)).toBe('10n');
    expect(await moduleAction.execute({ path: 'values.mjs', export: 'cyclic' }, ctx)).toContain("name: 'loop'");
    expect(ctx.lines.filter((line) => line.includes('not JSON-serialisable'))).toHaveLength(2);
  });

  it('gives up on a module that ignores its signal once the context is cancelled', async () => {
    const controller = new AbortController();
    const running = moduleAction.execute(
      { path: 'values.mjs', export: 'forever' },
      testActionContext({ configDir: dir, signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 20);
    await expect(running).rejects.toBeInstanceOf(CancelledError);
  });

  it('does not call the module when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = testActionContext({ configDir: dir, signal: controller.signal });
    await expect(moduleAction.execute({ path: 'echo.mjs' }, ctx)).rejects.toBeInstanceOf(CancelledError);
    expect(ctx.lines).toEqual([]);
  });

  it('picks up an edited module without a restart', async () => {
    const file = await fixture('edited.mjs', `export default () => 'v1';`);
    await utimes(file, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    expect(await moduleAction.execute({ path: file }, testActionContext())).toBe('v1');
    await writeFile(file, `export default () => 'v2';`);
    await utimes(file, new Date('2026-01-01T00:01:00Z'), new Date('2026-01-01T00:01:00Z'));
    expect(await moduleAction.execute({ path: file }, testActionContext())).toBe('v2');
  });
});

describe('describeImportFailure', () => {
  const unknownExtension = Object.assign(new TypeError('Unknown file extension ".ts"'), { code: 'ERR_UNKNOWN_FILE_EXTENSION' });

  it('tells the user to compile a .ts module Node cannot load', () => {
    const error = describeImportFailure('/etc/hearth/sync.ts', unknownExtension);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect((error as Error).message).toMatch(/\/etc\/hearth\/sync\.ts.*Compile it.*\.mjs/);
  });

  it('fails non-retriably on a module that does not parse or lacks a dependency', () => {
    // Under vitest, import() goes through Vite and reports these differently, so the mapping is tested directly.
    const syntax = describeImportFailure('/x/broken.mjs', new SyntaxError('Unexpected token'));
    expect(syntax).toBeInstanceOf(NonRetriableError);
    expect((syntax as Error).message).toBe('cannot load /x/broken.mjs: Unexpected token');
    const dependency = Object.assign(new Error("Cannot find package 'left-pad'"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(describeImportFailure('/x/job.mjs', dependency)).toBeInstanceOf(NonRetriableError);
  });

  it('passes through errors thrown while a module evaluates', () => {
    const thrown = new Error('database unreachable');
    expect(describeImportFailure('/x/job.mjs', thrown)).toBe(thrown);
  });
});

describe('toJsonValue', () => {
  it('keeps plain JSON values as they are', () => {
    const value = { a: [1, 'two', null, true], b: { c: 1.5 } };
    expect(toJsonValue(value, () => {})).toEqual(value);
  });
});
