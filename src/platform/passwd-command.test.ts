import { describe, expect, it } from 'vitest';
import { passwdCommand } from './passwd-command.js';

describe('passwdCommand', () => {
  it('on the Pi image (systemd, user hearth) is the sudo -u hearth form', () => {
    const facts = { configFile: '/etc/hearth/hearth.yaml', cwd: '/', packageRoot: '/opt/hearth', user: 'hearth', env: { INVOCATION_ID: 'abc' } };
    expect(passwdCommand(facts)).toEqual({ command: 'sudo -u hearth hearth passwd --config /etc/hearth/hearth.yaml' });
    expect(passwdCommand({ ...facts, env: { NOTIFY_SOCKET: '/run/systemd/notify' } }).command).toBe('sudo -u hearth hearth passwd --config /etc/hearth/hearth.yaml');
  });

  it('a service running as root needs no -u', () => {
    const facts = { configFile: '/etc/hearth/hearth.yaml', cwd: '/', packageRoot: '/opt/hearth', user: 'root', env: { INVOCATION_ID: 'abc' } };
    expect(passwdCommand(facts).command).toBe('sudo hearth passwd --config /etc/hearth/hearth.yaml');
  });

  it('from a checkout under npm start is the README\'s ./hearth, run in the checkout', () => {
    const facts = { configFile: '/home/ann/hearth/hearth.yaml', cwd: '/home/ann/hearth', packageRoot: '/home/ann/hearth', user: 'ann', env: {}, wrapper: true };
    expect(passwdCommand(facts)).toEqual({ command: './hearth passwd --config hearth.yaml', directory: '/home/ann/hearth' });
  });

  it('without the ./hearth wrapper (an npm-installed package) is node bin/hearth.js', () => {
    const facts = { configFile: '/home/ann/hearth/hearth.yaml', cwd: '/home/ann/hearth', packageRoot: '/home/ann/hearth', user: 'ann', env: {} };
    expect(passwdCommand(facts)).toEqual({ command: 'node bin/hearth.js passwd --config hearth.yaml', directory: '/home/ann/hearth' });
  });

  it('names the config and the command by path when they are elsewhere, quoting spaces', () => {
    const facts = { configFile: '/srv/my home/hearth.yaml', cwd: '/home/ann/work', packageRoot: '/home/ann/hearth', user: 'ann', env: {} };
    expect(passwdCommand(facts)).toEqual({ command: `node /home/ann/hearth/bin/hearth.js passwd --config '/srv/my home/hearth.yaml'`, directory: '/home/ann/work' });
    expect(passwdCommand({ ...facts, wrapper: true })).toEqual({ command: `/home/ann/hearth/hearth passwd --config '/srv/my home/hearth.yaml'`, directory: '/home/ann/work' });
  });

  it('with the bundled example config (no hearth.yaml here) leaves --config out, as passwd finds the same one', () => {
    const facts = { configFile: '/home/ann/hearth/examples/hearth.yaml', cwd: '/home/ann/hearth', packageRoot: '/home/ann/hearth', user: 'ann', env: {}, embedded: true, wrapper: true };
    expect(passwdCommand(facts)).toEqual({ command: './hearth passwd', directory: '/home/ann/hearth' });
  });
});
