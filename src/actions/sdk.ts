/**
 * The stable public entry for users' `module` actions:
 *
 *   import { NonRetriableError, RetryAfterError, type ModuleContext } from 'hearth/sdk';
 *
 *   export default async function ({ args, since, signal, log }: ModuleContext<{ folder: string }>) { … }
 *
 * Throwing NonRetriableError stops retries; RetryAfterError(message, at) asks
 * for the next attempt no earlier than `at`. These must be the very classes the
 * engine checks with instanceof, so import them from here, never copy them.
 */
export { CancelledError, NonRetriableError, RetryAfterError, StepError, SuspendSignal } from '../core/errors.js';
export type { EventAnswer, EventWaitOptions, InputAnswer, InputOptions, InvokeOptions, StepApi } from '../steps/types.js';
export type { ActionContext, ModuleContext, ModuleTask } from './types.js';
