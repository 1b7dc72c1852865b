import { describe, expect, it } from 'vitest';
import { loadText, problemsOf, yamlLines } from './testing.js';

/** The top-level `notify:` block and a job's own `notify:` (DESIGN.md, "Accounts, models, notifications, store"). */
describe('notify config', () => {
  const channels = [
    'notify:',
    '  channels:',
    '    phone: { type: ntfy, url: "http://127.0.0.1:9/alerts", token: "${NTFY_TOKEN:}" }',
    '    mail: { type: email, smtp: "smtp://u:p@127.0.0.1:2525", from: hearth@home.lan, to: [me@example.com, you@example.com] }',
  ];

  it('keeps channels, fills the default routing (every kind to every channel) and the 1h quiet window', () => {
    const config = loadText(yamlLines(...channels), { env: { NTFY_TOKEN: 'tk_123' } });
    expect(config.notify).toEqual({
      channels: {
        phone: { name: 'phone', type: 'ntfy', settings: { url: 'http://127.0.0.1:9/alerts', token: 'tk_123' } },
        mail: { name: 'mail', type: 'email', settings: { smtp: 'smtp://u:p@127.0.0.1:2525', from: 'hearth@home.lan', to: 'me@example.com, you@example.com' } },
      },
      default: { on: ['failure', 'recovery', 'stuck', 'missed', 'input', 'appliance'], to: ['phone', 'mail'] },
      quietMs: 3_600_000,
    });
  });

  it('reads default, quiet, baseUrl and per-job overrides (a job may also turn notifications off)', () => {
    const config = loadText(
      yamlLines(
        ...channels,
        '  default: { on: [failure, missed], to: phone }',
        '  quiet: 15m',
        '  baseUrl: http://hearth.local:8080/',
        'jobs:',
        '  backup: { run: "true", notify: { to: [mail] } }',
        '  noisy: { run: "true", notify: off }',
        '  plain: { run: "true" }',
      ),
    );
    expect(config.notify?.default).toEqual({ on: ['failure', 'missed'], to: ['phone'] });
    expect(config.notify?.quietMs).toBe(900_000);
    expect(config.notify?.baseUrl).toBe('http://hearth.local:8080');
    expect(config.jobs.backup!.notify).toEqual({ on: ['failure', 'missed'], to: ['mail'] });
    expect(config.jobs.noisy!.notify).toBe(false);
    expect(config.jobs.plain!.notify).toBeUndefined();
  });

  it('reports unknown channel names in to:, unknown kinds and unknown types at their lines', () => {
    expect(problemsOf(yamlLines(...channels, '  default: { to: [phnoe] }'))).toEqual([
      'hearth.yaml:5:19: notify.default.to[0]: unknown channel "phnoe", did you mean "phone"? (channels in notify.channels: phone, mail)',
    ]);
    expect(problemsOf(yamlLines(...channels, 'jobs:', '  a: { run: "true", notify: { on: failures, to: sms } }'))).toEqual([
      'hearth.yaml:6:35: jobs.a.notify.on: unknown notification kind "failures", did you mean "failure"? (kinds: failure, recovery, stuck, missed, input, appliance)',
      'hearth.yaml:6:49: jobs.a.notify.to: unknown channel "sms" (channels in notify.channels: phone, mail)',
    ]);
    expect(problemsOf(yamlLines('notify:', '  channels:', '    x: { type: ntfyy, url: "http://a/b" }'))).toEqual([
      'hearth.yaml:3:16: notify.channels.x.type: unknown channel type "ntfyy", did you mean "ntfy"? (types: ntfy, email, slack, webhook, telegram)',
    ]);
  });

  it('reports missing and unknown settings and bad URLs without echoing the value', () => {
    expect(problemsOf(yamlLines('notify:', '  channels:', '    x: { type: webhook, urll: "http://a/b" }'))).toEqual([
      'hearth.yaml:3:5: notify.channels.x.url: is required for a webhook channel',
      'hearth.yaml:3:25: notify.channels.x.urll: unknown key "urll", did you mean "url"? (allowed: url, token)',
    ]);
    const problems = problemsOf(yamlLines('notify:', '  channels:', '    x: { type: slack, webhook: "hooks.slack.com/services/T0/B0/SECRETPART" }'));
    expect(problems).toEqual(['hearth.yaml:3:32: notify.channels.x.webhook: must be an http:// or https:// URL']);
    expect(problems.join('\n')).not.toContain('SECRETPART');
    expect(problemsOf(yamlLines('notify:', '  channels:', '    m: { type: email, smtp: "http://mail", from: a@b, to: c@d }'))[0]).toContain(
      'notify.channels.m.smtp: must be an smtp:// (STARTTLS) or smtps:// (TLS) URL',
    );
    expect(problemsOf(yamlLines('notify:', '  quiet: soon'))[0]).toContain('notify.quiet: invalid duration "soon"');
    expect(problemsOf(yamlLines('jobs:', '  a: { run: "true", notify: 3 }'))[0]).toContain('jobs.a.notify: expected false (off) or a mapping');
  });
});
