/**
 * Everything a CLI command touches from the outside world, passed in so the
 * commands run in tests with fake streams and a fetch that goes straight to
 * the Hono app (no socket).
 */

export interface Output {
  write(chunk: string): unknown;
  /** Tables are coloured only on a terminal. */
  isTTY?: boolean;
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response> | Response;

export type StartAppliance = (options: {
  configFlag?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stop cleanly on SIGTERM / SIGINT, reload on SIGHUP. */
  handleSignals?: boolean;
}) => Promise<{ stop(): Promise<void> }>;

export interface CliContext {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Output;
  stderr: Output;
  fetch: FetchLike;
  /** Waits between reconnects of a log stream; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Wall clock for defaults such as `hearth next` starting now; tests pin it. */
  now?: () => number;
  /** Replaces the lazily imported `startAppliance` from src/main.ts (tests). */
  startAppliance?: StartAppliance;
}

export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function useColor(ctx: Pick<CliContext, 'stdout' | 'env'>): boolean {
  return ctx.stdout.isTTY === true && !ctx.env.NO_COLOR;
}
