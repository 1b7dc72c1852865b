import type { ConnectFlow } from './connect.js';
import { slackConnectFlow } from './slack/connect-flow.js';

/** Every connection type's connect flow (see connect.ts); Gmail adds its own here. */
export function connectFlows(): ConnectFlow[] {
  return [slackConnectFlow()];
}
