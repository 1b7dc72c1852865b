import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeAppliance } from '../http/testing/fake-appliance.js';
import { parseAnswer } from './inbox.js';
import { cliHarness } from './testing.js';
import type { CliHarness } from './testing.js';

let cli: CliHarness;
let appliance: FakeAppliance;

beforeEach(async () => {
  cli = cliHarness();
  appliance = cli.appliance;
  await appliance.inbox.ask({
    id: 'q_000000000001', runId: 'r_00mjv5x2w0a1b2c3d4', job: 'tidy', stepId: 'confirm', prompt: 'Delete 3 files?',
    choices: ['delete', 'keep'], askedAt: '2026-03-01T12:00:00.000Z',
  });
  await appliance.inbox.ask({
    id: 'q_000000000002', runId: 'r_00mjv5x2w0a1b2c3d5', job: 'plan', stepId: 'days', prompt: 'How many days?',
    schema: { type: 'object', properties: { days: { type: 'integer' } }, required: ['days'] }, askedAt: '2026-03-01T12:01:00.000Z',
  });
});

describe('hearth inbox', () => {
  it('lists open questions with what to answer', async () => {
    const result = await cli.run(['inbox']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+JOB\s+QUESTION\s+ANSWER WITH\s+ASKED\s+EXPIRES$/);
    expect(lines[1]).toMatch(/^q_000000000001\s+tidy\s+Delete 3 files\?\s+delete \| keep\s+/);
    expect(lines[2]).toMatch(/^q_000000000002\s+plan\s+How many days\?\s+JSON object\s+/);
    expect(result.stderr).toBe('answer with: hearth answer q_000000000001 VALUE\n');
  });

  it('--json prints the API body; an empty inbox says so', async () => {
    const asJson = await cli.run(['inbox', '--json']);
    expect(JSON.parse(asJson.stdout).questions).toHaveLength(2);
    await appliance.answerQuestion('q_000000000001', 'keep');
    await appliance.answerQuestion('q_000000000002', { days: 1 });
    expect(await cli.run(['inbox'])).toEqual({ code: 0, stdout: 'no open questions\n', stderr: '' });
  });
});

describe('hearth answer', () => {
  it('sends a plain word as a string and JSON as JSON', async () => {
    expect(await cli.run(['answer', 'q_000000000001', 'keep'])).toEqual({ code: 0, stdout: 'answered q_000000000001 (tidy): "keep"\n', stderr: '' });
    expect((await cli.run(['answer', 'q_000000000002', '{"days":30}'])).stdout).toBe('answered q_000000000002 (plan): {"days":30}\n');
    expect((await appliance.inbox.get('q_000000000002'))?.value).toEqual({ days: 30 });
  });

  it('exits 1 when already answered or unknown, 2 when the value fails the schema', async () => {
    await cli.run(['answer', 'q_000000000001', 'keep']);
    const again = await cli.run(['answer', 'q_000000000001', 'delete']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('hearth: question q_000000000001 is already answered\n');
    const unknown = await cli.run(['answer', 'q_999999999999', 'x']);
    expect(unknown.code).toBe(1);
    const invalid = await cli.run(['answer', 'q_000000000002', '{"days":"many"}']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^hearth: value\.days: /);
    expect((await cli.run(['answer', 'q_000000000001'])).code).toBe(2);
  });

  it('parseAnswer: JSON when it parses, else the text itself', () => {
    expect(parseAnswer('true')).toBe(true);
    expect(parseAnswer('42')).toBe(42);
    expect(parseAnswer('"quoted"')).toBe('quoted');
    expect(parseAnswer('yes please')).toBe('yes please');
  });
});
