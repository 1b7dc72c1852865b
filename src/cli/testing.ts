import type { NotifyPort } from '../notify/port.js';
import { silentLogger } from '../core/logger.js';
import { createApiApp } from '../http/app.js';
import { FakeAppliance } from '../http/testing/fake-appliance.js';
import { createTokenCheck } from '../http/token.js';
import { runCli } from './cli.js';
import type { CliContext, FetchLike, Output } from './context.js';

/** Test support: run the CLI against a FakeAppliance behind the real Hono app, without a socket. */

export class CapturedOutput implements Output {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export const TEST_TOKEN = 'cli-test-token';
export const TEST_URL = 'http://hearth.test:8080';

export interface CliHarness {
  appliance: FakeAppliance;
  /** Every URL the CLI fetched. */
  requests: Array<{ url: string; method: string; headers: Headers }>;
  /** The fetch the CLI gets by default: records the request, then asks the app. */
  fetch: FetchLike;
  run(argv: string[], overrides?: Partial<CliContext>): Promise<{ code: number; stdout: string; stderr: string }>;
}

export function cliHarness(options: { tty?: boolean; env?: NodeJS.ProcessEnv; notify?: NotifyPort } = {}): CliHarness {
  const appliance = new FakeAppliance();
  const app = createApiApp({ appliance, auth: createTokenCheck([TEST_TOKEN]), logger: silentLogger, ...(options.notify ? { notify: options.notify } : {}) });
  const requests: CliHarness['requests'] = [];
  const fetch: FetchLike = async (url, init) => {
    requests.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers) });
    return await app.request(url, init);
  };
  return {
    appliance,
    requests,
    fetch,
    async run(argv, overrides = {}) {
      const stdout = new CapturedOutput(options.tty ?? false);
      const stderr = new CapturedOutput(options.tty ?? false);
      const code = await runCli({
        argv,
        env: { HEARTH_URL: TEST_URL, HEARTH_TOKEN: TEST_TOKEN, TZ: 'UTC', ...options.env },
        cwd: '/nonexistent',
        stdout,
        stderr,
        fetch,
        sleep: async () => {},
        now: () => Date.parse('2026-03-28T12:00:00Z'),
        ...overrides,
      });
      return { code, stdout: stdout.text, stderr: stderr.text };
    },
  };
}
