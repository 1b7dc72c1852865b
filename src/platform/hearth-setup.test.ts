import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The Pi image's first-boot script (pi-image/rootfs/usr/local/sbin/hearth-setup)
 * reads hearth.txt, typed by someone on another computer. These tests source
 * it (it runs nothing when sourced) and exercise the parsing and the removal
 * of secrets on a temporary file; the QEMU smoke test covers the rest on a
 * booted image.
 */
const script = new URL('../../pi-image/rootfs/usr/local/sbin/hearth-setup', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function withSettings(text: string, commands: string): { out: string; file: string; dropIn: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-setup-'));
  dirs.push(dir);
  const file = join(dir, 'hearth.txt');
  const dropIn = join(dir, 'timesyncd.conf.d', 'hearth.conf');
  writeFileSync(file, text);
  // HEARTH_SETUP_LIBRARY=1: define the functions only; main (which changes the machine) never runs.
  const out = execFileSync('bash', ['-c', `source "$1"; read_settings; ${commands}`, 'hearth-setup-test', script], {
    env: { ...process.env, HEARTH_SETTINGS: file, HEARTH_TIMESYNCD_DROPIN: dropIn, HEARTH_SETUP_LIBRARY: '1' },
    encoding: 'utf8',
  });
  return { out, file, dropIn };
}

describe('hearth-setup (first boot)', () => {
  it('reads name=value lines, ignoring comments, blanks, a BOM, CRLF and spaces around values', () => {
    const text = '\ufeff# comment\r\nhostname = kitchen-pi \r\n\r\nwifi_ssid=My Home=Net\r\n  # indented comment\r\nwifi_password=p@ss word!\r\n';
    const { out } = withSettings(text, 'printf "%s|" "${setting[hostname]}" "${setting[wifi_ssid]}" "${setting[wifi_password]}" "${#setting[@]}"');
    expect(out).toBe('kitchen-pi|My Home=Net|p@ss word!|3|');
  });

  it('collects every ssh_key line and skips empty ones', () => {
    const text = 'ssh_key=\nssh_key=ssh-ed25519 AAAAC3Nz one@laptop\nssh_key=ssh-ed25519 AAAAC3Nz two@phone\n';
    const { out } = withSettings(text, 'printf "%s\\n" "${ssh_keys[@]}"');
    expect(out).toBe('ssh-ed25519 AAAAC3Nz one@laptop\nssh-ed25519 AAAAC3Nz two@phone\n');
  });

  it('never executes the file: shell syntax in a value stays text', () => {
    const { out } = withSettings('hostname=$(touch /tmp/hearth-pwned)\n', 'printf "%s" "${setting[hostname]}"');
    expect(out).toBe('$(touch /tmp/hearth-pwned)');
  });

  it('blanks the passwords after applying them and keeps everything else', () => {
    const text = 'hostname=hearth\nwifi_ssid=Home\nwifi_password=correct horse\nadmin_password=s3cret-pass\nssh_key=ssh-ed25519 AAAA me\n';
    const { file } = withSettings(text, 'scrub_secrets >/dev/null');
    const after = readFileSync(file, 'utf8');
    expect(after).not.toContain('correct horse');
    expect(after).not.toContain('s3cret-pass');
    expect(after).toMatch(/^wifi_password=$/m);
    expect(after).toMatch(/^admin_password=$/m);
    expect(after).toMatch(/^# wifi_password was applied on \d{4}-\d\d-\d\dT\d\d:\d\dZ and removed from this file$/m);
    expect(after).toContain('hostname=hearth\nwifi_ssid=Home\n');
    expect(after).toContain('ssh_key=ssh-ed25519 AAAA me\n');
  });

  it('keeps a password that could not be applied, so the next boot tries again', () => {
    const text = 'wifi_password=correct horse\nadmin_password=s3cret-pass\n';
    const { file } = withSettings(text, 'keep_secrets+=(admin_password); scrub_secrets >/dev/null');
    const after = readFileSync(file, 'utf8');
    expect(after).not.toContain('correct horse');
    expect(after).toContain('admin_password=s3cret-pass\n');
  });

  it('leaves a file without secrets untouched', () => {
    const text = 'hostname=hearth\nwifi_password=\n';
    const { file } = withSettings(text, 'scrub_secrets');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('points timesyncd at the time servers named in time_server, and back at Debian’s when it is emptied', () => {
    const { out, dropIn, file } = withSettings('time_server=192.168.1.1 ntp.home.lan\n', 'apply_time_server; apply_time_server');
    expect(readFileSync(dropIn, 'utf8')).toBe('# Written by hearth-setup from time_server= in hearth.txt\n[Time]\nNTP=192.168.1.1 ntp.home.lan\n');
    expect(out).toBe('hearth-setup: time server set to 192.168.1.1 ntp.home.lan\n'); // the second boot changes nothing
    writeFileSync(file, 'time_server=\n');
    const cleared = execFileSync('bash', ['-c', 'source "$1"; read_settings; apply_time_server; test ! -e "$HEARTH_TIMESYNCD_DROPIN" && echo gone', 'hearth-setup-test', script], {
      env: { ...process.env, HEARTH_SETTINGS: file, HEARTH_TIMESYNCD_DROPIN: dropIn, HEARTH_SETUP_LIBRARY: '1' },
      encoding: 'utf8',
    });
    expect(cleared).toBe("hearth-setup: time server: back to Debian's\ngone\n");
  });

  it('refuses a time_server value that is not host names or addresses', () => {
    const { out, dropIn } = withSettings('time_server=ntp.home.lan; rm -rf /\n', 'apply_time_server; test -e "$HEARTH_TIMESYNCD_DROPIN" || echo none');
    expect(out).toBe("hearth-setup: time server 'ntp.home.lan;' is not a host name or IP address; time servers not changed\nnone\n");
    expect(dropIn).toMatch(/hearth\.conf$/);
    expect(withSettings('time_server=*\n', 'cd / && apply_time_server').out).toBe("hearth-setup: time server '*' is not a host name or IP address; time servers not changed\n");
  });
});
