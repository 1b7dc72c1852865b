import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../core/atomic-file.js';
import { FileInboxStore, answerQuestion, inboxItemId, validateAnswer } from './inbox.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const question = { id: 'q_000000000001', runId: 'r_1', job: 'tidy', stepId: 'confirm', prompt: 'Delete?', schema: { type: 'boolean' }, askedAt: '2026-03-01T12:00:00.000Z' };

describe('FileInboxStore', () => {
  it('questions and answers are on disk (0600) when acknowledged, and asking again is a no-op', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-inbox-'));
    dirs.push(dir);
    const file = join(dir, 'inbox.json');
    const inbox = new FileInboxStore(file);
    await inbox.init();
    await inbox.ask(question);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await inbox.ask({ ...question, prompt: 'changed' })).toMatchObject({ prompt: 'Delete?' });
    await answerQuestion(inbox, question.id, true, Date.parse('2026-03-01T12:05:00Z'));

    const reopened = new FileInboxStore(file);
    await reopened.init();
    expect(await reopened.get(question.id)).toMatchObject({ status: 'answered', value: true, answeredAt: '2026-03-01T12:05:00.000Z' });
    expect(await reopened.listOpen()).toEqual([]);
    await expect(answerQuestion(reopened, question.id, false, 0)).rejects.toThrow('already answered');
  });

  it('an expired question takes no answer; an answered one is not expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-inbox-'));
    dirs.push(dir);
    const inbox = new FileInboxStore(join(dir, 'inbox.json'));
    await inbox.ask(question);
    await inbox.ask({ ...question, id: 'q_000000000002' });
    await inbox.expire(question.id, 0);
    await expect(answerQuestion(inbox, question.id, true, 0)).rejects.toThrow('already expired');
    await answerQuestion(inbox, 'q_000000000002', true, 0);
    expect(await inbox.expire('q_000000000002', 0)).toMatchObject({ status: 'answered' });
  });
});

describe('validateAnswer', () => {
  it('checks JSON schema types, enums, required fields, bounds and arrays, naming the field', () => {
    const schema = {
      type: 'object',
      properties: {
        mode: { enum: ['fast', 'slow'] },
        count: { type: 'integer', minimum: 1, maximum: 10 },
        tags: { type: 'array', items: { type: 'string' } },
      },
      required: ['mode'],
    };
    const item = { id: 'q', schema };
    expect(() => validateAnswer(item, { mode: 'fast', count: 3, tags: ['a'] })).not.toThrow();
    expect(() => validateAnswer(item, { count: 3 })).toThrow(/^value\.mode: /);
    expect(() => validateAnswer(item, { mode: 'medium' })).toThrow(/^value\.mode: /);
    expect(() => validateAnswer(item, { mode: 'fast', count: 11 })).toThrow(/^value\.count: /);
    expect(() => validateAnswer(item, { mode: 'fast', count: 1.5 })).toThrow(/^value\.count: /);
    expect(() => validateAnswer(item, { mode: 'fast', tags: [1] })).toThrow(/^value\.tags\.0: /);
    expect(() => validateAnswer({ id: 'q', schema: { type: 'boolean' } }, 'yes')).toThrow(/^value: /);
  });

  it('question ids are stable per run and step', () => {
    expect(inboxItemId('r_1', 'a')).toBe(inboxItemId('r_1', 'a'));
    expect(inboxItemId('r_1', 'a')).not.toBe(inboxItemId('r_1', 'b'));
    expect(inboxItemId('r_1', 'a')).toMatch(/^q_[0-9a-f]{12}$/);
  });
});

describe('FileInboxStore writes', () => {
  it('a slow write never lands after a later one (writes are serialised; each writes the state as it is then)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-inbox-'));
    dirs.push(dir);
    const file = join(dir, 'inbox.json');
    let writes = 0;
    const inbox = new FileInboxStore(file, async (path, data, mode) => {
      // The first write is slow (a busy SD card), the next ones fast.
      if (writes++ === 0) await new Promise((resolve) => setTimeout(resolve, 40));
      await writeFileAtomic(path, data, mode);
    });
    const first = inbox.ask({ ...question, id: 'q_000000000001' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await inbox.ask({ ...question, id: 'q_000000000002' });
    await first;
    const reopened = new FileInboxStore(file);
    await reopened.init();
    expect((await reopened.listOpen()).map((q) => q.id)).toEqual(['q_000000000001', 'q_000000000002']);
  });
});
