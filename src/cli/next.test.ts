import { describe, expect, it } from 'vitest';
import { cliHarness } from './testing.js';

const cli = cliHarness();

describe('hearth next', () => {
  it('prints cron occurrences as ISO 8601 with the zone offset, across a DST change', async () => {
    const result = await cli.run(['next', '--cron', '0 3 * * *', '--tz', 'Europe/London', '--from', '2026-03-27T12:00:00Z', '--count', '3']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('2026-03-28T03:00:00+00:00\n2026-03-29T03:00:00+01:00\n2026-03-30T03:00:00+01:00\n');
  });

  it('anchors --every at the Unix epoch', async () => {
    const result = await cli.run(['next', '--every', '15m', '--tz', 'UTC', '--from', '2026-01-01T00:07:00Z', '--count', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('2026-01-01T00:15:00+00:00\n2026-01-01T00:30:00+00:00\n');
  });

  it('reads an rrule in the given zone', async () => {
    const result = await cli.run(['next', '--rrule', 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0', '--tz', 'America/New_York', '--from', '2026-03-01T00:00:00Z', '--count', '2']);
    expect(result.code).toBe(0);
    // 8 March 2026 is the start of US daylight time.
    expect(result.stdout).toBe('2026-03-02T09:00:00-05:00\n2026-03-09T09:00:00-04:00\n');
  });

  it('defaults to five occurrences from now', async () => {
    const result = await cli.run(['next', '--every', '1h', '--tz', 'UTC']);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      '2026-03-28T13:00:00+00:00',
      '2026-03-28T14:00:00+00:00',
      '2026-03-28T15:00:00+00:00',
      '2026-03-28T16:00:00+00:00',
      '2026-03-28T17:00:00+00:00',
    ]);
  });

  it.each([
    [['next'], /exactly one of --cron, --every or --rrule/],
    [['next', '--cron', '0 3 * * *', '--every', '1h'], /exactly one of/],
    [['next', '--cron', '61 3 * * *'], /.+/],
    [['next', '--every', 'soon'], /invalid --every "soon"/],
    [['next', '--every', '0s'], /longer than zero/],
    [['next', '--cron', '0 3 * * *', '--tz', 'Mars/Olympus'], /Mars\/Olympus/],
    [['next', '--cron', '0 3 * * *', '--from', 'tomorrow'], /invalid --from "tomorrow"/],
    [['next', '--cron', '0 3 * * *', '--count', '0'], /invalid --count "0"/],
  ])('exits 2 with a pointer to the help for %j', async (argv, message) => {
    const result = await cli.run(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/\(see: hearth help next\)\n$/);
  });

  it('prints the whole usage for a flag without its value', async () => {
    const result = await cli.run(['next', '--cron']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/argument missing/);
    expect(result.stderr).toContain('usage: hearth next');
  });

  it('reads --from without an offset as wall-clock time in --tz', async () => {
    const result = await cli.run(['next', '--every', '1h', '--tz', 'Europe/London', '--from', '2026-07-01 10:30', '--count', '1']);
    expect(result.stdout).toBe('2026-07-01T11:00:00+01:00\n');
  });

  it('suggests the closest zone name for a typo', async () => {
    const result = await cli.run(['next', '--every', '1h', '--tz', 'Europe/Londn']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/did you mean "Europe\/London"/);
  });
});
