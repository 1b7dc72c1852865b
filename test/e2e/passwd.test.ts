import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, baseConfig, freePort, startHearth, tempDir } from '../helpers/hearth-process.js';

function passwd(dir: string, input: string) {
  const result = spawnSync(process.execPath, [BIN, 'passwd', '--config', join(dir, 'hearth.yaml')], { input, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('hearth passwd', () => {
  it('sets the password from standard input; the running appliance accepts it without a restart', async () => {
    const dir = tempDir('hearth-passwd-');
    const port = await freePort();
    // Started from a checkout, not by systemd (whatever runs these tests).
    const hearth = await startHearth({ dir, port, config: baseConfig(port, '  hello:\n    run: echo hi\n'), env: { INVOCATION_ID: '', NOTIFY_SOCKET: '' } });
    try {
      // Locked until a password is set.
      const locked = await fetch(hearth.url + '/', { redirect: 'manual' });
      expect(locked.headers.get('location')).toBe('/setup');

      // The setup page shows the command for a checkout, and where to run it; that command works as shown.
      const setup = await (await fetch(hearth.url + '/setup')).text();
      const command = /<pre class="mono wrap cmd">([^<]+)<\/pre>/.exec(setup)![1]!;
      const where = /<code class="path">([^<]+)<\/code>/.exec(setup)![1]!;
      expect(command).toBe(`./hearth passwd --config ${join(dir, 'hearth.yaml')}`);
      expect(where).toBe(ROOT);
      const shown = spawnSync('sh', ['-c', command], { cwd: where, input: 'a much longer passphrase\n', encoding: 'utf8' });
      expect(shown.status, shown.stderr).toBe(0);

      expect(passwd(dir, 'short\n').code).toBe(2);
      const out = passwd(dir, 'a much longer passphrase\n');
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain('password set');
      const file = join(dir, 'data/secrets/admin-password.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).not.toContain('passphrase');
      expect(hearth.output()).not.toContain('passphrase');

      await hearth.waitFor('the login page', async () => {
        const response = await fetch(hearth.url + '/', { redirect: 'manual' });
        return response.headers.get('location')?.startsWith('/login') || undefined;
      }, 5000);
      const login = await fetch(hearth.url + '/login', {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: hearth.url },
        body: new URLSearchParams({ password: 'a much longer passphrase' }).toString(),
      });
      expect(login.status).toBe(303);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(hearth.url + '/jobs', { headers: { Cookie: cookie } })).status).toBe(200);
      // The CLI's own token keeps working beside the dashboard login.
      expect((await hearth.api('/api/jobs')).status).toBe(200);
    } finally {
      await hearth.stop();
    }
  });

  it('explains a missing password on standard input', () => {
    const dir = tempDir('hearth-passwd-');
    writeFileSync(join(dir, 'hearth.yaml'), baseConfig(1, '  hello:\n    run: echo hi\n'));
    const out = passwd(dir, '');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('no password on standard input');
  });
});
