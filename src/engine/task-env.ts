import type { JobDef, TaskDef } from '../config/types.js';
import type { Run, TaskState } from '../runs/model.js';

/** Output handed to dependants through the environment is capped: env blocks have OS limits. */
const MAX_OUTPUT_ENV_BYTES = 8 * 1024;

/**
 * Hearth's own secrets, read from its environment by the appliance or the CLI
 * (`HEARTH_PASSWORD`: the first admin password, src/main.ts; `HEARTH_TOKEN`:
 * the API token of the `hearth` command, src/cli/target.ts). They are removed
 * from the environment a task inherits: a job that prints its environment must
 * not write them into its run log. Users' own variables (also those used for
 * `${VAR}` in hearth.yaml) are passed on; a job or task `env:` is passed as
 * written. A task that calls the API uses `<dataDir>/secrets/api-token`.
 */
export const HEARTH_SECRET_ENV: readonly string[] = ['HEARTH_PASSWORD', 'HEARTH_TOKEN'];

/**
 * The environment of a shell task: inherited env without Hearth's own
 * secrets (HEARTH_SECRET_ENV), then the job's and the task's `env:`, then the HEARTH_* contract from DESIGN.md (always last, so a
 * config cannot spoof them). `HEARTH_LAST_SUCCESS` is when the job's last
 * successful run *started*, so an incremental fetch over
 * `HEARTH_SINCE_SECONDS` overlaps the previous window instead of leaving a gap.
 */
export function buildTaskEnv(input: {
  run: Run;
  job: JobDef;
  task: TaskDef;
  state: TaskState;
  now: number;
  dataDir: string;
  baseEnv: Record<string, string>;
  /** The run's input: its JSON text and the file holding it ('' for both when the run has none). */
  input?: { text: string; file: string };
}): Record<string, string> {
  const { run, job, task, state, now } = input;
  const lastSuccess = run.lastSuccessAt ? Date.parse(run.lastSuccessAt) : undefined;
  const env: Record<string, string> = {
    ...withoutHearthSecrets(input.baseEnv),
    ...job.env,
    ...task.env,
    HEARTH_RUN_ID: run.id,
    HEARTH_JOB: job.name,
    HEARTH_TASK: task.name,
    HEARTH_TRIGGER: run.trigger,
    HEARTH_SCHEDULED_FOR: run.scheduledFor ?? '',
    HEARTH_OCCURRENCES: String(run.occurrences),
    HEARTH_LAST_SUCCESS: run.lastSuccessAt ?? '',
    HEARTH_SINCE_SECONDS: lastSuccess === undefined ? '' : String(Math.max(0, Math.floor((now - lastSuccess) / 1000))),
    HEARTH_ATTEMPT: String(state.attempts),
    HEARTH_DATA_DIR: input.dataDir,
    HEARTH_INPUT: input.input?.text ?? '',
    HEARTH_INPUT_FILE: input.input?.file ?? '',
  };
  for (const dep of task.dependsOn) {
    env[`HEARTH_OUTPUT_${envName(dep)}`] = outputText(run.tasks[dep]?.output);
  }
  return env;
}

/** `env` minus Hearth's own secrets (a copy; `env` is not changed). */
export function withoutHearthSecrets(env: Record<string, string>): Record<string, string> {
  const out = { ...env };
  for (const name of HEARTH_SECRET_ENV) delete out[name];
  return out;
}

/** The outputs of the tasks `task` depends on, for actions and modules. */
export function upstreamOutputs(run: Run, task: TaskDef): Record<string, unknown> {
  return Object.fromEntries(task.dependsOn.map((dep) => [dep, run.tasks[dep]?.output]));
}

export function envName(taskName: string): string {
  return taskName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function outputText(output: unknown): string {
  if (output === undefined || output === null) return '';
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  const bytes = Buffer.from(text);
  // Keep the end: the last lines are what a dependant usually wants.
  return bytes.length <= MAX_OUTPUT_ENV_BYTES ? text : bytes.subarray(bytes.length - MAX_OUTPUT_ENV_BYTES).toString('utf8');
}
