import { ConfigError, formatConfigIssue } from '../core/errors.js';
import { parseConfigText } from './load.js';
import type { LoadOptions } from './load.js';
import type { HearthConfig } from './types.js';

/** Config tests read better with one YAML line per argument: line N of the file is argument N. */
export function yamlLines(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** Options every test starts from: no process env leaking in, a fixed zone. */
export const TEST_OPTIONS: LoadOptions = { env: {}, systemTimezone: 'UTC' };

export function loadText(text: string, options: LoadOptions = {}): HearthConfig {
  return parseConfigText(text, 'hearth.yaml', { ...TEST_OPTIONS, ...options });
}

/** The formatted problems a config produces; fails the test if it loads. */
export function problemsOf(text: string, options: LoadOptions = {}): string[] {
  return issuesOf(() => loadText(text, options));
}

function issuesOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
    throw error;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

/** The formatted problems an asynchronous load reports (loadConfig, a cached start …); fails the test if it loads. */
export async function configIssuesOf(action: () => unknown): Promise<string[]> {
  try {
    await action();
  } catch (error) {
    return issuesOf(() => {
      throw error;
    });
  }
  return issuesOf(() => undefined);
}
