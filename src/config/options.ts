import type { ScheduleSpec } from './types.js';

/**
 * How a config file is loaded and checked. Its own module so the loader
 * (load.ts) and the builder (build.ts) can both use it without importing each
 * other.
 */
export interface LoadOptions {
  /** Source of `${VAR}` values; default process.env. */
  env?: Record<string, string | undefined>;
  /** Injected so config does not depend on schedule (dependencies point inward). Returns a message or undefined. */
  validateSchedule?: (spec: ScheduleSpec, timezone: string) => string | undefined;
  /** Injected like validateSchedule: a message when a valid schedule is probably a mistake (shown as a warning). */
  scheduleWarning?: (spec: ScheduleSpec) => string | undefined;
  /** Injected: validates an action's `with:` params; returns problems with paths relative to `with`. */
  validateAction?: (action: string, params: Record<string, unknown>) => Array<{ path: string; message: string }>;
  /** If given, unknown `action:` names are errors. */
  knownActions?: string[];
  /** Default Intl.DateTimeFormat().resolvedOptions().timeZone. */
  systemTimezone?: string;
  /**
   * Relative `dataDir` and `cwd` are resolved against this; default the config
   * file's directory. Pass the working directory for the bundled example, so
   * its data lands where `npm start` ran and not inside the package.
   */
  baseDir?: string;
  /**
   * A file with no content at all (empty, or only comments) is an error
   * rather than a config with no jobs. Set for reloads: an editor that saved
   * half a file, or a truncated copy, must not remove every job and fail
   * their queued runs. A deliberate `jobs: {}` still loads.
   */
  rejectEmpty?: boolean;
}
