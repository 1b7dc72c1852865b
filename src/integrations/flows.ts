import type { ConnectFlow } from './connect.js';
import { gmailConnectFlow } from './gmail/connect-flow.js';
import { slackConnectFlow } from './slack/connect-flow.js';

/** Every connection type's connect flow (see connect.ts). */
export function connectFlows(): ConnectFlow[] {
  return [slackConnectFlow(), gmailConnectFlow()];
}
