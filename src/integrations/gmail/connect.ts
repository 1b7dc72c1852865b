import { randomBytes } from 'node:crypto';
import { UsageError } from '../../core/errors.js';
import type { ConnectionDef } from '../../config/types.js';
import { pickSecret, type SecretsStore } from '../../secrets/store.js';
import { DEFAULT_AUTH_URL, DEFAULT_TOKEN_URL } from './google.js';

/**
 * Connecting a Gmail account from a phone (or a terminal) with a Desktop
 * OAuth client: Google refuses Gmail scopes in the device flow and the
 * copy-paste (OOB) flow is gone, but a Desktop client may redirect to any
 * `http://127.0.0.1:<port>`. So Hearth builds the consent URL (PKCE, S256),
 * the person approves on the phone, the phone's browser then fails to load
 * 127.0.0.1, and the person pastes that address back; Hearth checks the
 * state, exchanges the code with the verifier and keeps the refresh token in
 * the secrets store (never in a log or an API answer).
 *
 * The pending verifier and state are saved with the connection's secrets, so
 * the page can be reloaded (or the CLI restarted) between the two halves.
 *
 * This is the one surface the dashboard page, `hearth connect NAME` and the
 * shared Settings › Connections registry use: `createGmailConnector(deps)`.
 */

export const GMAIL_SCOPE = 'https://www.googleapis.com/auth/gmail.modify';

export interface GmailConnectStatus {
  name: string;
  clientId?: string;
  /** A secret is known (from the file or saved); the value itself never leaves. */
  hasClientSecret: boolean;
  connected: boolean;
  /** A consent URL was made and its redirect not pasted back yet. */
  pending: boolean;
  /** Where the clientId/clientSecret come from, for the page's hints. */
  clientIdFromConfig: boolean;
}

export interface GmailConnector {
  readonly type: 'gmail';
  /** How to make a Desktop OAuth client, with the publishing-status warning (plain text paragraphs). */
  readonly instructions: string[];
  status(name: string): Promise<GmailConnectStatus>;
  /** Saves a client id/secret typed in (when the file has none) and returns Google's consent URL. */
  begin(name: string, input?: { clientId?: string; clientSecret?: string; port?: number }): Promise<{ url: string; redirectUri: string }>;
  /** Takes the pasted 127.0.0.1 address, exchanges its code and saves the refresh token. */
  finish(name: string, pasted: string): Promise<{ connected: true }>;
  /** Forgets the saved refresh token. */
  disconnect(name: string): Promise<void>;
}

export interface GmailConnectDeps {
  connections(): Record<string, ConnectionDef>;
  secrets: SecretsStore;
}

export const GMAIL_CONNECT_INSTRUCTIONS = [
  'In the Google Cloud console (console.cloud.google.com), create a project, enable the Gmail API, and configure the OAuth consent screen (External, add your address as a test user).',
  'Under Credentials, create an OAuth client ID of type "Desktop app". Copy its client ID and client secret here (or into hearth.yaml as clientId and clientSecret: ${GMAIL_CLIENT_SECRET}).',
  'Publishing status: while the app is in "Testing", Google lets a refresh token live only 7 days, so the backup stops after a week and asks you to reconnect. Click "Publish app" on the consent screen (an unverified personal app works for your own account after a warning) to keep the connection.',
  'Open the consent link, choose your account and allow access. Your browser then tries to open http://127.0.0.1:… and fails: that is expected. Copy that whole address from the address bar and paste it below.',
];

/** A Desktop client may use any loopback port; a fixed default keeps the address recognisable. */
const DEFAULT_PORT = 53682;

export function createGmailConnector(deps: GmailConnectDeps): GmailConnector {
  const definition = (name: string): ConnectionDef => {
    const def = deps.connections()[name];
    if (!def) throw new UsageError(`no connection "${name}" in hearth.yaml: add it under connections: with type: gmail`);
    if (def.type !== 'gmail') throw new UsageError(`connection "${name}" is a ${def.type} connection, not gmail`);
    return def;
  };
  const client = async (name: string) => {
    const def = definition(name);
    const saved = await deps.secrets.get(name);
    const clientId = pickSecret(def.settings.clientId, saved.clientId);
    const clientSecret = pickSecret(def.settings.clientSecret, saved.clientSecret);
    const { OAuth2Client } = await import('google-auth-library');
    const auth = (redirectUri?: string) =>
      new OAuth2Client({
        ...(clientId ? { clientId } : {}),
        ...(clientSecret ? { clientSecret } : {}),
        ...(redirectUri ? { redirectUri } : {}),
        endpoints: { oauth2TokenUrl: def.settings.tokenUrl ?? DEFAULT_TOKEN_URL, oauth2AuthBaseUrl: def.settings.authUrl ?? DEFAULT_AUTH_URL },
      });
    return { def, saved, clientId, clientSecret, auth };
  };
  return {
    type: 'gmail',
    instructions: GMAIL_CONNECT_INSTRUCTIONS,
    async status(name) {
      const def = definition(name);
      const saved = await deps.secrets.get(name);
      const clientId = pickSecret(def.settings.clientId, saved.clientId);
      return {
        name,
        ...(clientId ? { clientId } : {}),
        clientIdFromConfig: Boolean(def.settings.clientId),
        hasClientSecret: Boolean(pickSecret(def.settings.clientSecret, saved.clientSecret)),
        connected: Boolean(pickSecret(def.settings.refreshToken, saved.refreshToken)),
        pending: Boolean(saved.pkceVerifier),
      };
    },
    async begin(name, input = {}) {
      definition(name);
      const typed: Record<string, string> = {};
      if (input.clientId?.trim()) typed.clientId = input.clientId.trim();
      if (input.clientSecret?.trim()) typed.clientSecret = input.clientSecret.trim();
      if (Object.keys(typed).length) await deps.secrets.set(name, typed);
      const { clientId, clientSecret, auth } = await client(name);
      if (!clientId) throw new UsageError(`connection "${name}" has no client ID: paste the Desktop client's ID (or set clientId in hearth.yaml)`);
      if (!clientSecret) throw new UsageError(`connection "${name}" has no client secret: paste the Desktop client's secret (or set clientSecret in hearth.yaml)`);
      const redirectUri = `http://127.0.0.1:${input.port ?? DEFAULT_PORT}`;
      const oauth = auth(redirectUri);
      const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
      const state = randomBytes(16).toString('base64url');
      await deps.secrets.set(name, { pkceVerifier: codeVerifier, pkceState: state, pkceRedirect: redirectUri });
      const { CodeChallengeMethod } = await import('google-auth-library');
      const url = oauth.generateAuthUrl({
        access_type: 'offline',
        // Without it Google sends a refresh token only on the very first consent.
        prompt: 'consent',
        scope: [GMAIL_SCOPE],
        state,
        code_challenge_method: CodeChallengeMethod.S256,
        code_challenge: codeChallenge!,
        redirect_uri: redirectUri,
      });
      return { url, redirectUri };
    },
    async finish(name, pasted) {
      const { saved, auth } = await client(name);
      const { code, state } = parseRedirect(pasted);
      if (!saved.pkceVerifier || !saved.pkceRedirect) throw new UsageError('no connection attempt is waiting: open the consent link first (start again)');
      if (state !== undefined && state !== saved.pkceState) throw new UsageError('this address belongs to another attempt (the state does not match): use the address from the latest consent link, or start again');
      let refreshToken: string | undefined;
      try {
        const { tokens } = await auth(saved.pkceRedirect).getToken({ code, codeVerifier: saved.pkceVerifier, redirect_uri: saved.pkceRedirect });
        refreshToken = tokens.refresh_token ?? undefined;
      } catch (error) {
        const data = (error as { response?: { data?: { error?: string; error_description?: string } } }).response?.data;
        const reason = data?.error ? `${data.error}${data.error_description ? `: ${data.error_description}` : ''}` : (error as Error).message;
        throw new UsageError(`Google did not accept the code (${reason}); codes are single-use and expire after a few minutes, so start again`, { cause: error });
      }
      if (!refreshToken) throw new UsageError('Google sent no refresh token; remove Hearth\'s access at myaccount.google.com/permissions and connect again');
      await deps.secrets.set(name, { refreshToken, pkceVerifier: '', pkceState: '', pkceRedirect: '' });
      return { connected: true };
    },
    async disconnect(name) {
      definition(name);
      await deps.secrets.set(name, { refreshToken: '', pkceVerifier: '', pkceState: '', pkceRedirect: '' });
    },
  };
}

/**
 * The code and state from the address the browser failed to load, e.g.
 * `http://127.0.0.1:53682/?state=…&code=4/0A…&scope=…`. Also takes the bare
 * query string or just the code. Google's `error=access_denied` becomes a
 * sentence.
 */
export function parseRedirect(pasted: string): { code: string; state?: string } {
  const text = pasted.trim();
  if (text === '') throw new UsageError('paste the address your browser shows after allowing access (it starts with http://127.0.0.1)');
  let params: URLSearchParams;
  if (/^https?:\/\//i.test(text)) params = new URL(text).searchParams;
  else if (text.includes('=')) params = new URLSearchParams(text.replace(/^[^?]*\?/, ''));
  else return { code: text };
  const error = params.get('error');
  if (error) throw new UsageError(error === 'access_denied' ? 'access was refused on the consent page (access_denied): start again and choose Allow' : `Google answered ${error}: start again`);
  const code = params.get('code');
  if (!code) throw new UsageError('that address has no code= in it: copy the whole address from the browser after allowing access');
  const state = params.get('state');
  return { code, ...(state ? { state } : {}) };
}
