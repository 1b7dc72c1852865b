import { beforeEach, describe, expect, it } from 'vitest';
import { cliHarness, type CliHarness } from './testing.js';

/** `hearth run JOB --input JSON`, through the real API app on a FakeAppliance. */

let cli: CliHarness;

beforeEach(() => {
  cli = cliHarness();
  cli.appliance.addJob({ name: 'digest', overlap: 'allow' });
});

describe('hearth run --input', () => {
  it('sends any JSON value as the run input', async () => {
    for (const text of ['{"path":"/tmp/x","n":2}', '[1,2]', '"plain"', '42', 'null']) {
      const result = await cli.run(['run', 'digest', '--input', text]);
      expect(result.code, text).toBe(0);
    }
    expect(cli.appliance.triggers).toEqual(
      [{ path: '/tmp/x', n: 2 }, [1, 2], 'plain', 42, null].map((input) => ({ job: 'digest', trigger: 'manual', input })),
    );
    expect(cli.requests[0]?.headers.get('content-type')).toBe('application/json');
  });

  it('without --input the run has none (no body is sent)', async () => {
    expect((await cli.run(['run', 'digest'])).code).toBe(0);
    expect(cli.appliance.triggers).toEqual([{ job: 'digest', trigger: 'manual' }]);
    expect(cli.requests[0]?.headers.get('content-type')).toBeNull();
  });

  it('invalid JSON is a usage error (exit 2) naming the flag, before anything is sent', async () => {
    const result = await cli.run(['run', 'digest', '--input', '{path: /tmp}']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^hearth: --input: not valid JSON/);
    expect(cli.requests).toEqual([]);
    expect(cli.appliance.triggers).toEqual([]);
  });

  it('an input too large for the API is refused with its message (exit 1)', async () => {
    const result = await cli.run(['run', 'digest', '--input', JSON.stringify('x'.repeat(70 * 1024))]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/larger than 64 KB/);
  });

  it('shows --input in the help', async () => {
    expect((await cli.run(['run', '--help'])).stdout).toContain('--input JSON');
  });
});
