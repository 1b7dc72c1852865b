import { packageVersion } from '../core/package-root.js';
import { readFileSync } from 'node:fs';
import { ConfigError, UsageError, errorMessage, formatConfigIssue } from '../core/errors.js';
import type { CommandArgs, OptionSpecs, PositionalSpec } from './args.js';
import { parseCommandArgs, stringValue } from './args.js';
import { ApiRequestError, UnreachableError } from './client.js';
import type { ApiClient } from './client.js';
import type { CliContext } from './context.js';
import { CliFailure } from './errors.js';
import { startCommand, validateCommand } from './local.js';
import { nextCommand } from './next.js';
import { cancelCommand, jobsCommand, logsCommand, parseInputFlag, pauseCommand, retryCommand, runCommand, runsCommand } from './remote.js';
import { connect } from './target.js';
import { answerCommand, inboxCommand } from './inbox.js';
import { notifyCommand } from './notify.js';
import { searchCommand } from './search.js';
import { knowledgeCommand, modelsCommand } from './knowledge.js';

/**
 * The `hearth` command: dispatch, help, and the one place where errors
 * become exit codes (0 ok, 1 failure, 2 usage error).
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

interface Command {
  name: string;
  summary: string;
  /** After `hearth `. */
  synopsis: string;
  /** Option descriptions, one per line. */
  details: string[];
  options: OptionSpecs;
  positionals: PositionalSpec;
  run(args: CommandArgs, ctx: CliContext): Promise<number>;
}

const HELP_OPTION: OptionSpecs = { help: { type: 'boolean', short: 'h' } };
const CONFIG_OPTION: OptionSpecs = { config: { type: 'string' } };
const REMOTE_OPTIONS: OptionSpecs = { ...CONFIG_OPTION, url: { type: 'string' }, json: { type: 'boolean' } };
const REMOTE_DETAILS = [
  '--url URL        the appliance (default: HEARTH_URL, else http://127.0.0.1:<server.port> from hearth.yaml)',
  '--config FILE    hearth.yaml to read server.port and dataDir from (default: HEARTH_CONFIG, ./hearth.yaml)',
  '--json           print the raw JSON the API returns',
  'The API token comes from HEARTH_TOKEN, else <dataDir>/secrets/api-token.',
];

function remote(run: (args: CommandArgs, ctx: CliContext, client: ApiClient) => Promise<number>) {
  return async (args: CommandArgs, ctx: CliContext) =>
    run(args, ctx, await connect(ctx, { url: stringValue(args, 'url'), config: stringValue(args, 'config') }));
}

const COMMANDS: readonly Command[] = [
  {
    name: 'start',
    summary: 'run the appliance (scheduler, workers, API, dashboard)',
    synopsis: 'start [--config FILE]',
    details: ['--config FILE    hearth.yaml to use (default: HEARTH_CONFIG, ./hearth.yaml, the bundled example)'],
    options: CONFIG_OPTION,
    positionals: { names: [], required: 0 },
    run: startCommand,
  },
  {
    name: 'passwd',
    summary: "set the dashboard's admin password",
    synopsis: 'passwd [--config FILE]',
    details: [
      '--config FILE    hearth.yaml whose dataDir holds the password (default: HEARTH_CONFIG, ./hearth.yaml)',
      'Asks twice on a terminal; otherwise reads one line from standard input.',
      'Run it as the user Hearth runs as (e.g. sudo -u hearth hearth passwd).',
    ],
    options: CONFIG_OPTION,
    positionals: { names: [], required: 0 },
    // Imported lazily: only this command needs scrypt and the secrets files.
    run: async (args, ctx) => (await import('./passwd.js')).passwdCommand(args, ctx),
  },
  {
    name: 'connect',
    summary: 'connect an outside account (Slack token, Gmail sign-in) or save a notification channel\'s secret',
    synopsis: 'connect NAME [--check] [--forget] [--config FILE]',
    details: [
      'NAME             a connection under connections: in hearth.yaml, e.g. slack-home or gmail-me,',
      '                 or a channel under notify.channels: (asks for its token/webhook/smtp; test it with hearth notify test NAME)',
      'Asks for the token without echo on a terminal; otherwise reads it from standard input',
      '(echo "$SLACK_TOKEN" | hearth connect slack-home). Saved in <dataDir>/secrets/NAME.json (0600), never printed.',
      'Gmail: prints Google\'s consent link; after allowing access, paste the http://127.0.0.1… address the browser could not open.',
      '--check          only check what is saved (Slack: auth.test, scopes required and granted; Gmail: the refresh token); exit 1 if not ready',
      '--forget         delete the saved secrets of NAME',
      '--config FILE    hearth.yaml naming the connection (default: HEARTH_CONFIG, ./hearth.yaml)',
      'Run it as the user Hearth runs as (e.g. sudo -u hearth hearth connect NAME).',
    ],
    options: { ...CONFIG_OPTION, check: { type: 'boolean' }, forget: { type: 'boolean' } },
    positionals: { names: ['NAME'], required: 1 },
    // Imported lazily: only this command needs the connect flows.
    run: async (args, ctx) => (await import('./connect.js')).connectCommand(args, ctx),
  },
  {
    name: 'validate',
    summary: 'check hearth.yaml and report every problem',
    synopsis: 'validate [--config FILE]',
    details: ['--config FILE    hearth.yaml to check (default: HEARTH_CONFIG, ./hearth.yaml)'],
    options: CONFIG_OPTION,
    positionals: { names: [], required: 0 },
    run: validateCommand,
  },
  {
    name: 'next',
    summary: 'print the next times a schedule fires',
    synopsis: 'next --cron EXPR | --every DUR | --rrule RULE [--tz ZONE] [--from ISO] [--count N]',
    details: [
      '--cron EXPR      a cron expression, e.g. "0 3 * * *"',
      '--every DUR      an interval, e.g. 15m or 1h30m (anchored at the Unix epoch)',
      '--rrule RULE     an RFC 5545 rule, e.g. "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"',
      '--tz ZONE        IANA time zone (default: the system zone)',
      '--from ISO       start after this instant (default: now)',
      '--count N        how many times to print (default 5, at most 1000)',
    ],
    options: {
      cron: { type: 'string' },
      every: { type: 'string' },
      rrule: { type: 'string' },
      tz: { type: 'string' },
      from: { type: 'string' },
      count: { type: 'string' },
    },
    positionals: { names: [], required: 0 },
    run: nextCommand,
  },
  {
    name: 'jobs',
    summary: 'list jobs with their schedule, next and last run',
    synopsis: 'jobs [--json]',
    details: REMOTE_DETAILS,
    options: REMOTE_OPTIONS,
    positionals: { names: [], required: 0 },
    run: remote(jobsCommand),
  },
  {
    name: 'run',
    summary: 'start a job now',
    synopsis: 'run JOB [--input JSON] [--wait] [--json]',
    details: [
      '--input JSON     the run\'s input, any JSON value (tasks see HEARTH_INPUT / HEARTH_INPUT_FILE, modules ctx.input)',
      '--wait           stream the log until the run finishes; exit 0 if it succeeded, 1 if not',
      ...REMOTE_DETAILS,
    ],
    options: { ...REMOTE_OPTIONS, wait: { type: 'boolean' }, input: { type: 'string' } },
    positionals: { names: ['JOB'], required: 1 },
    run: async (args, ctx) => {
      parseInputFlag(args);
      return remote(runCommand)(args, ctx);
    },
  },
  {
    name: 'runs',
    summary: 'list recent runs, newest first',
    synopsis: 'runs [JOB] [--status S] [--limit N] [--before RUN] [--json]',
    details: [
      '--status S       queued, running, waiting, succeeded, failed or cancelled',
      '--limit N        how many (1-500, default 50)',
      '--before RUN     the page after RUN (printed under the table when there is more)',
      ...REMOTE_DETAILS,
    ],
    options: { ...REMOTE_OPTIONS, status: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    positionals: { names: ['JOB'], required: 0 },
    run: remote(runsCommand),
  },
  {
    name: 'logs',
    summary: "print a run's log (or a job's latest run's)",
    synopsis: 'logs RUN|JOB [--failed] [-f] [--tail N]',
    details: [
      'RUN              a run id; JOB: the job\'s latest run (which one is printed on stderr)',
      '--failed         with JOB: its latest failed run',
      '-f, --follow     keep printing new lines until the run finishes',
      '--tail N         start at the last N lines',
      ...REMOTE_DETAILS.filter((d) => !d.startsWith('--json')),
    ],
    options: {
      ...CONFIG_OPTION,
      url: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      tail: { type: 'string' },
      failed: { type: 'boolean' },
    },
    positionals: { names: ['RUN|JOB'], required: 1 },
    run: remote(logsCommand),
  },
  {
    name: 'pause',
    summary: "stop a job's scheduled runs (it can still be started by hand)",
    synopsis: 'pause JOB [--json]',
    details: REMOTE_DETAILS,
    options: REMOTE_OPTIONS,
    positionals: { names: ['JOB'], required: 1 },
    run: remote(pauseCommand(true)),
  },
  {
    name: 'resume',
    summary: "start a paused job's scheduled runs again",
    synopsis: 'resume JOB [--json]',
    details: REMOTE_DETAILS,
    options: REMOTE_OPTIONS,
    positionals: { names: ['JOB'], required: 1 },
    run: remote(pauseCommand(false)),
  },
  {
    name: 'retry',
    summary: 'run a finished run again (same job, same input)',
    synopsis: 'retry RUN [--wait] [--json]',
    details: ['--wait           stream the log until the new run finishes; exit 0 if it succeeded, 1 if not', ...REMOTE_DETAILS],
    options: { ...REMOTE_OPTIONS, wait: { type: 'boolean' } },
    positionals: { names: ['RUN'], required: 1 },
    run: remote(retryCommand),
  },
  {
    name: 'cancel',
    summary: 'cancel a queued or running run',
    synopsis: 'cancel RUN [--json]',
    details: REMOTE_DETAILS,
    options: REMOTE_OPTIONS,
    positionals: { names: ['RUN'], required: 1 },
    run: remote(cancelCommand),
  },
  {
    name: 'backup',
    summary: "archive the data directory's state and the config (safe while hearth runs)",
    synopsis: 'backup [FILE] [--knowledge] [--logs] [--config FILE]',
    details: [
      'FILE             the .tar.gz to write (default: hearth-backup-YYYYMMDD-HHMMSS.tar.gz here; never overwritten; mode 0600)',
      'Holds state.json, state.wal (and .bak/.prev), history/, secrets/, inputs/ and hearth.yaml.',
      '--knowledge      also the knowledge store (knowledge/; it can be rebuilt from the sources instead)',
      '--logs           also the run logs (logs/)',
      '--config FILE    hearth.yaml naming the dataDir (default: HEARTH_CONFIG, ./hearth.yaml)',
      'Run it as the user hearth runs as (e.g. sudo -u hearth hearth backup): secrets/ is readable only by it.',
    ],
    options: { ...CONFIG_OPTION, knowledge: { type: 'boolean' }, logs: { type: 'boolean' } },
    positionals: { names: ['FILE'], required: 0 },
    run: async (args, ctx) => (await import('./backup.js')).backupCommand(args, ctx),
  },
  {
    name: 'restore',
    summary: 'put a backup back (hearth must be stopped)',
    synopsis: 'restore FILE [--force] [--config FILE]',
    details: [
      'Refuses while hearth answers on its port: stop it first (sudo systemctl stop hearth).',
      'The config goes to --config / HEARTH_CONFIG / ./hearth.yaml when there is none; an existing one is kept',
      '(the backup\'s, if different, is written next to it as hearth.yaml.from-backup).',
      '--force          replace a data directory that already holds state (it is moved aside, not deleted)',
      '--config FILE    where the config is or goes (default: HEARTH_CONFIG, ./hearth.yaml)',
    ],
    options: { ...CONFIG_OPTION, force: { type: 'boolean' } },
    positionals: { names: ['FILE'], required: 1 },
    run: async (args, ctx) => (await import('./backup.js')).restoreCommand(args, ctx),
  },
  {
    name: 'inbox',
    summary: 'list the questions waiting workflows ask',
    synopsis: 'inbox [--json]',
    details: REMOTE_DETAILS,
    options: REMOTE_OPTIONS,
    positionals: { names: [], required: 0 },
    run: remote(inboxCommand),
  },
  {
    name: 'answer',
    summary: 'answer an inbox question',
    synopsis: 'answer ID VALUE [--json]',
    details: [
      'VALUE            JSON (true, 42, \'{"days":30}\') or, when it is not valid JSON, a plain string (yes)',
      ...REMOTE_DETAILS,
    ],
    options: REMOTE_OPTIONS,
    positionals: { names: ['ID', 'VALUE'], required: 2 },
    run: remote(answerCommand),
  },
  {
    name: 'notify',
    summary: 'list notification channels, or send a test message: notify test CHANNEL',
    synopsis: 'notify [test CHANNEL] [--json]',
    details: [
      'test CHANNEL     send a test message to a channel of notify.channels and print what it answered (exit 1 if it failed)',
      ...REMOTE_DETAILS,
    ],
    options: REMOTE_OPTIONS,
    positionals: { names: ['ACTION', 'CHANNEL'], required: 0 },
    run: remote(notifyCommand),
  },
  {
    name: 'search',
    summary: 'search ingested notes and documents (hybrid: meaning + keywords)',
    synopsis: 'search "QUERY" [--source S] [--since DATE] [--until DATE] [--limit N] [--json]',
    details: [
      '--source S       only this source (a folder or file ingest job\'s source); several: a,b',
      '--since DATE     only documents from this date: 2024-11-01, 2024-11-01T09:00Z, or an age such as 90d',
      '--until DATE     only documents before this date (same forms)',
      '--limit N        how many results (1-100, default 10)',
      '--json           print the JSON the search API returns',
      '--config FILE    hearth.yaml whose dataDir and embedder to use (default: HEARTH_CONFIG, ./hearth.yaml)',
      '--url URL        search a remote appliance over its API instead (also HEARTH_URL; token from HEARTH_TOKEN)',
      'Without --url the store on this machine is opened directly; the appliance need not be running.',
    ],
    options: { ...REMOTE_OPTIONS, source: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } },
    positionals: { names: ['QUERY'], required: 1 },
    run: searchCommand,
  },
  {
    name: 'knowledge',
    summary: 'knowledge store: status, rebuild, optimize',
    synopsis: 'knowledge status|rebuild|optimize [--from raw|processed] [--json]',
    details: [
      'status           sources, documents and chunks; the embedder the index was built with',
      'rebuild          rebuild the stages from raw files (--from raw, default) or re-embed the processed stage (--from processed)',
      'optimize         compact the table, refresh its indexes, drop old versions and unused raw files',
      '--config FILE    hearth.yaml whose dataDir and embedder to use',
      '--json           print the result as JSON',
      'rebuild and optimize fail (exit 1) while the appliance is writing the store; run them again when it is done.',
    ],
    options: { ...CONFIG_OPTION, from: { type: 'string' }, json: { type: 'boolean' } },
    positionals: { names: ['ACTION'], required: 1 },
    run: knowledgeCommand,
  },
  {
    name: 'models',
    summary: 'download the local embedding model (needs internet, once)',
    synopsis: 'models pull [MODEL] [--dir DIR] [--dtype q8|fp32|...]',
    details: [
      'MODEL            default: knowledge.embedder.model from hearth.yaml, else Xenova/all-MiniLM-L6-v2',
      '--dir DIR        model folder (default: knowledge.embedder.modelDir, else <dataDir>/models)',
      '--dtype D        weights to fetch: q8 (default, ~23 MB for MiniLM), fp32, fp16, int8, uint8, q4',
      '--config FILE    hearth.yaml to read the defaults from',
      'Files come from https://huggingface.co, or the mirror in HF_ENDPOINT.',
    ],
    options: { ...CONFIG_OPTION, dir: { type: 'string' }, dtype: { type: 'string' } },
    positionals: { names: ['ACTION', 'MODEL'], required: 1 },
    run: modelsCommand,
  },
];

export async function runCli(ctx: CliContext): Promise<number> {
  const [first, ...rest] = ctx.argv;
  if (first === undefined) return usageError(ctx, 'missing command');
  if (first === '--help' || first === '-h') return printHelp(ctx, rest[0]);
  if (first === 'help') return printHelp(ctx, rest[0]);
  if (first === '--version' || first === '-v') {
    ctx.stdout.write(`${readVersion()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (!command) return usageError(ctx, first.startsWith('-') ? `expected a command before ${first}` : `unknown command "${first}"`);

  let args: CommandArgs;
  try {
    args = parseCommandArgs(rest, { ...HELP_OPTION, ...command.options }, command.positionals);
  } catch (error) {
    // Wrong flags or a missing argument: the whole usage of the command helps most.
    if (error instanceof UsageError) return usageError(ctx, error.message, command);
    throw error;
  }
  if (args.values.help === true) {
    ctx.stdout.write(commandHelp(command));
    return EXIT_OK;
  }
  try {
    return await command.run(args, ctx);
  } catch (error) {
    return reportError(ctx, error, command);
  }
}

/** Exit codes for every error a command can end with. */
function reportError(ctx: CliContext, error: unknown, command: Command): number {
  if (error instanceof UsageError) {
    // A bad value (not a bad flag): the message says what is wrong; the full usage would bury it.
    ctx.stderr.write(`hearth: ${error.message}\n(see: hearth help ${command.name})\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    for (const issue of error.issues) ctx.stderr.write(`${formatConfigIssue(issue)}\n`);
    const count = error.issues.length;
    ctx.stderr.write(`hearth: ${count} ${count === 1 ? 'problem' : 'problems'} in the config\n`);
    return EXIT_FAILURE;
  }
  if (error instanceof ApiRequestError) {
    ctx.stderr.write(`hearth: ${error.message}\n`);
    // The API refused the input itself (e.g. a job name it rejects): that is a usage error too.
    return error.status === 400 ? EXIT_USAGE : EXIT_FAILURE;
  }
  if (error instanceof UnreachableError || error instanceof CliFailure) {
    ctx.stderr.write(`hearth: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  const detail = ctx.env.HEARTH_DEBUG && error instanceof Error && error.stack ? error.stack : errorMessage(error);
  ctx.stderr.write(`hearth: ${detail}\n`);
  return EXIT_FAILURE;
}

function usageError(ctx: CliContext, message: string, command?: Command): number {
  ctx.stderr.write(`hearth: ${message}\n\n`);
  ctx.stderr.write(command ? commandHelp(command) : generalHelp());
  return EXIT_USAGE;
}

function printHelp(ctx: CliContext, topic: string | undefined): number {
  if (topic === undefined) {
    ctx.stdout.write(generalHelp());
    return EXIT_OK;
  }
  const command = COMMANDS.find((candidate) => candidate.name === topic);
  if (!command) return usageError(ctx, `unknown command "${topic}"`);
  ctx.stdout.write(commandHelp(command));
  return EXIT_OK;
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    'usage: hearth <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'hearth help <command>   options of one command',
    'hearth --version        print the version',
    '',
    'exit codes: 0 ok, 1 failure, 2 usage error',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const details = command.details.map((line) => `  ${line}`);
  return [`usage: hearth ${command.synopsis}`, '', `${command.summary}`, '', ...details, ''].join('\n');
}

function readVersion(): string {
  return packageVersion(import.meta.url);
}
