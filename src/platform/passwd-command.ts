import { relative, sep } from 'node:path';

/**
 * The `hearth passwd` command that fits how this appliance was started, for
 * the dashboard's setup and login pages. On the Pi image (a systemd service
 * running as its own user) it is `sudo -u hearth hearth passwd --config
 * /etc/hearth/hearth.yaml`; from a checkout under `npm start` it is
 * `./hearth passwd --config hearth.yaml` (the README's form), run in the
 * checkout, or `node bin/hearth.js …` where there is no `./hearth` wrapper
 * (an npm-installed package).
 */

export interface LaunchFacts {
  /** Absolute path of the config file in use. */
  configFile: string;
  /** The directory the appliance was started in. */
  cwd: string;
  /** Hearth's package root (bin/hearth.js is under it). */
  packageRoot: string;
  /** The checkout's `./hearth` wrapper exists at the package root. */
  wrapper?: boolean;
  /** The user the appliance runs as. */
  user: string;
  env: Record<string, string | undefined>;
  /**
   * No hearth.yaml in `cwd`: the bundled example runs, with its data directory under `cwd`.
   * `passwd` run in the same directory without --config finds the same one.
   */
  embedded?: boolean;
}

export interface PasswdCommand {
  /** One shell line. */
  command: string;
  /** Where to run it (absent: anywhere). */
  directory?: string;
}

/** systemd sets INVOCATION_ID for every service it starts, NOTIFY_SOCKET for Type=notify ones. */
export function underSystemd(env: Record<string, string | undefined>): boolean {
  return Boolean(env.INVOCATION_ID || env.NOTIFY_SOCKET);
}

export function passwdCommand(facts: LaunchFacts): PasswdCommand {
  if (underSystemd(facts.env)) {
    // An installed service: the `hearth` command is on PATH; run it as the service's user so the files stay its own.
    const asUser = facts.user === 'root' ? 'sudo ' : `sudo -u ${shellWord(facts.user)} `;
    return { command: `${asUser}hearth passwd --config ${shellWord(facts.configFile)}` };
  }
  const config = facts.embedded ? '' : ` --config ${shellWord(pathFrom(facts.cwd, facts.configFile))}`;
  if (facts.wrapper) {
    const wrapper = facts.cwd === facts.packageRoot ? './hearth' : pathFrom(facts.cwd, `${facts.packageRoot}${sep}hearth`);
    return { command: `${shellWord(wrapper)} passwd${config}`, directory: facts.cwd };
  }
  const bin = facts.cwd === facts.packageRoot ? 'bin/hearth.js' : pathFrom(facts.cwd, `${facts.packageRoot}${sep}bin${sep}hearth.js`);
  return { command: `node ${shellWord(bin)} passwd${config}`, directory: facts.cwd };
}

/** `to` relative to `from` when it lies under it, else absolute. */
function pathFrom(from: string, to: string): string {
  const rel = relative(from, to);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : to;
}

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
