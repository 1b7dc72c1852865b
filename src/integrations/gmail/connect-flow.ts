import type { ConnectionDef } from '../../config/types.js';
import type { CheckResult, ConnectDescription, ConnectFlow } from '../connect.js';
import { GmailAuthError, type GmailApi } from './api.js';
import { GMAIL_CONNECT_INSTRUCTIONS, GMAIL_SCOPE } from './connect.js';
import { openGoogleGmail, type GmailConnectionSettings } from './google.js';

/**
 * Gmail in the shared connections registry (integrations/connect.ts): what
 * Settings › Connections lists, `hearth connect NAME --check` checks and
 * `--forget` forgets. A Gmail connection needs three values: the Desktop
 * client's id and secret and a refresh token. The refresh token comes from
 * Google's consent page, a two-step exchange (consent link, then the pasted
 * 127.0.0.1 address) that a single save cannot carry, so that part stays in
 * the GmailConnector (connect.ts): the Gmail page and `hearth connect NAME`
 * run it, and this flow only describes and checks the result. No prepare():
 * a refresh token got elsewhere may be pasted as it is.
 */

export function gmailConnectFlow(open: (settings: GmailConnectionSettings, now: () => number) => Promise<GmailApi> = openGoogleGmail): ConnectFlow {
  return {
    type: 'gmail',
    describe(): ConnectDescription {
      return {
        type: 'gmail',
        summary: 'A Gmail account that gmail.backup copies to the SD card and gmail.label labels by rule',
        fields: [
          { key: 'clientId', label: 'Client ID (Desktop OAuth client)', secret: false, placeholder: '…apps.googleusercontent.com' },
          { key: 'clientSecret', label: 'Client secret', secret: true },
          { key: 'refreshToken', label: 'Refresh token (from the consent steps)', secret: true },
        ],
        help: GMAIL_CONNECT_INSTRUCTIONS,
        scopes: [GMAIL_SCOPE],
      };
    },
    async check(connection: ConnectionDef, values): Promise<CheckResult> {
      const api = await open(
        {
          clientId: values.clientId!,
          clientSecret: values.clientSecret!,
          refreshToken: values.refreshToken!,
          ...(connection.settings.apiUrl ? { apiUrl: connection.settings.apiUrl } : {}),
          ...(connection.settings.tokenUrl ? { tokenUrl: connection.settings.tokenUrl } : {}),
        },
        Date.now,
      );
      try {
        const profile = await api.profile();
        return { ok: true, summary: `connected: ${profile.emailAddress} (${profile.messagesTotal.toLocaleString('en')} messages)`, details: [`scope requested: ${GMAIL_SCOPE}`], missingScopes: [] };
      } catch (error) {
        if (error instanceof GmailAuthError) {
          return { ok: false, summary: 'Google refused the refresh token (invalid_grant): connect again (a token of an app left in "Testing" expires after 7 days)', details: [], missingScopes: [] };
        }
        throw error;
      }
    },
  };
}
