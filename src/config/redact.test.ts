import { describe, expect, it } from 'vitest';
import { loadText } from './testing.js';
import { REDACTED, maskDefaults, shownTask } from './redact.js';

describe('shownTask', () => {
  it('shows ${VAR} values as written, never the value, and redacts secret-named keys', () => {
    const config = loadText(
      `jobs:
  upload:
    tasks:
      send:
        action: http
        with:
          url: "\${NAS_URL}/upload"
          method: POST
          headers: { Authorization: "Bearer hunter2", X-Tag: "\${TAG:nightly-secret}" }
          body: { apiKey: abc123, note: plain }
      list:
        run: 'curl -H "token: \${NAS_TOKEN}" https://nas.local/ls'
`,
      { env: { NAS_URL: 'https://nas.local:8443', NAS_TOKEN: 'tok-999', TAG: '' } },
    );
    const [send, list] = ['send', 'list'].map((name) => config.jobs.upload!.tasks.find((t) => t.name === name)!);
    const shown = shownTask(send!);
    expect(shown.with).toEqual({
      url: '${NAS_URL}/upload',
      method: 'POST',
      headers: { Authorization: REDACTED, 'X-Tag': '${TAG:…}' },
      body: { apiKey: REDACTED, note: 'plain' },
    });
    expect(JSON.stringify(shown)).not.toMatch(/nas\.local:8443|hunter2|abc123|nightly-secret/);
    expect(shownTask(list!).run).toBe('curl -H "token: ${NAS_TOKEN}" https://nas.local/ls');
    // The task itself still runs with the values.
    expect(list!.run).toContain('tok-999');
  });

  it('a job-level shorthand task is redacted the same way', () => {
    const config = loadText(`jobs:\n  ping:\n    action: http\n    with: { url: "\${PING_URL}" }\n`, { env: { PING_URL: 'https://secret.example/abc' } });
    expect(shownTask(config.jobs.ping!.tasks[0]!).with).toEqual({ url: '${PING_URL}' });
  });

  it('leaves $${ literals alone and masks only non-empty defaults', () => {
    expect(maskDefaults('$${x:y} ${A:b} ${C:} ${D}')).toBe('$${x:y} ${A:…} ${C:} ${D}');
  });
});
