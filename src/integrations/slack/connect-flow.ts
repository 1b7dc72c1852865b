import type { ConnectionDef } from '../../config/types.js';
import type { CheckResult, ConnectDescription, ConnectFlow } from '../connect.js';
import { createSlackApi, SlackAuthError } from './api.js';
import type { SlackApi, SlackApiOptions } from './api.js';

/**
 * Slack's connect flow: one token (a user token `xoxp-…` reads every channel
 * its user is in, threads included; a bot token `xoxb-…` only channels the
 * bot was invited to), checked with `auth.test`, whose `x-oauth-scopes`
 * header lists the scopes granted.
 */

/** What `ingest.slack` needs: read public and private channels, their history, and user names. */
export const SLACK_SCOPES = ['channels:read', 'channels:history', 'groups:read', 'groups:history', 'users:read'];

export function slackConnectFlow(makeApi: (options: SlackApiOptions) => Promise<SlackApi> = createSlackApi): ConnectFlow {
  return {
    type: 'slack',
    describe(): ConnectDescription {
      return {
        type: 'slack',
        summary: 'A Slack workspace whose channels ingest.slack copies into the knowledge store',
        fields: [{ key: 'token', label: 'Token (xoxp-… user token, or xoxb-… bot token)', secret: true, placeholder: 'xoxp-…' }],
        help: [
          'Create an app at https://api.slack.com/apps (From scratch, in your workspace).',
          `OAuth & Permissions › User Token Scopes: ${SLACK_SCOPES.join(', ')}.`,
          'Install it to the workspace and copy the User OAuth Token (xoxp-…): it reads threads in every channel you are in.',
          'A Bot token (xoxb-…, same scopes under Bot Token Scopes) works too, for channels the bot is invited to.',
        ],
        scopes: SLACK_SCOPES,
      };
    },
    async check(connection: ConnectionDef, values): Promise<CheckResult> {
      const api = await makeApi({ token: values.token!, ...(connection.settings.apiUrl ? { apiUrl: connection.settings.apiUrl } : {}) });
      let auth;
      try {
        auth = await api.authTest();
      } catch (error) {
        if (error instanceof SlackAuthError) return { ok: false, summary: 'Slack refused the token (invalid_auth): it is wrong or was revoked', details: [], missingScopes: [] };
        throw error;
      }
      const granted = new Set(auth.scopes);
      const missing = auth.scopes.length > 0 ? SLACK_SCOPES.filter((scope) => !granted.has(scope)) : [];
      const kind = auth.botId ? 'bot token' : 'user token';
      const details = [
        `scopes required: ${SLACK_SCOPES.join(', ')}`,
        auth.scopes.length > 0 ? `scopes granted: ${auth.scopes.join(', ')}` : 'scopes granted: Slack did not say (no x-oauth-scopes header)',
        ...(missing.length > 0 ? [`missing: ${missing.join(', ')} (add them in the app's OAuth & Permissions page and reinstall it)`] : []),
      ];
      return {
        ok: missing.length === 0,
        summary: `${missing.length === 0 ? 'connected' : 'connected, but scopes are missing'}: workspace ${auth.team} (${auth.teamId}) as ${auth.user}, ${kind}`,
        details,
        missingScopes: missing,
      };
    },
  };
}
