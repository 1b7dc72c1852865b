import { NonRetriableError, errorMessage } from '../../core/errors.js';

/**
 * The few Slack Web API calls Hearth makes, as a small port. The real one
 * (`createSlackApi`) loads `@slack/web-api` with a dynamic import, so the
 * idle appliance never loads the SDK; tests point `apiUrl` at a fake Slack
 * on 127.0.0.1 and the real client talks to it.
 *
 * The SDK's own retries and rate-limit sleeps are switched off: a 429 comes
 * back as SlackRateLimitedError and the caller waits durably (a long
 * back-off survives a restart), and a rejected token as SlackAuthError.
 */

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

export interface SlackMessage {
  ts: string;
  type?: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  username?: string;
  text?: string;
  thread_ts?: string;
  reply_count?: number;
  latest_reply?: string;
  edited?: { user?: string; ts: string };
  files?: Array<{ id?: string; name?: string; title?: string; permalink?: string; url_private?: string }>;
  [key: string]: unknown;
}

export interface SlackPage {
  messages: SlackMessage[];
  /** Empty or absent on the last page. */
  nextCursor?: string;
  hasMore: boolean;
}

export interface SlackChannel {
  id: string;
  name: string;
  is_private?: boolean;
  is_archived?: boolean;
  is_member?: boolean;
}

export interface SlackUser {
  id: string;
  name: string;
  real_name?: string;
  profile?: { display_name?: string; real_name?: string };
}

export interface SlackAuth {
  teamId: string;
  team: string;
  url: string;
  user: string;
  userId: string;
  botId?: string;
  /** From the `x-oauth-scopes` header (empty when the server did not say). */
  scopes: string[];
}

export interface HistoryRequest {
  channel: string;
  oldest?: string;
  latest?: string;
  cursor?: string;
  limit: number;
}

export interface RepliesRequest extends HistoryRequest {
  ts: string;
}

export interface SlackApi {
  authTest(): Promise<SlackAuth>;
  history(request: HistoryRequest): Promise<SlackPage>;
  replies(request: RepliesRequest): Promise<SlackPage>;
  channels(cursor?: string): Promise<{ channels: SlackChannel[]; nextCursor?: string }>;
  users(cursor?: string): Promise<{ users: SlackUser[]; nextCursor?: string }>;
}

/** Slack answered 429: no request before `retryAfterMs` from now. */
export class SlackRateLimitedError extends Error {
  override name = 'SlackRateLimitedError';
  constructor(
    readonly method: string,
    readonly retryAfterMs: number,
  ) {
    super(`Slack's rate limit for ${method}: retry after ${Math.round(retryAfterMs / 1000)} s`);
  }
}

/** The token was refused (revoked, wrong workspace, expired): retrying cannot help. */
export class SlackAuthError extends NonRetriableError {
  override name = 'SlackAuthError';
}

/** Slack answered `ok: false` with another error code (missing_scope, channel_not_found, …). */
export class SlackApiError extends Error {
  override name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly code: string,
    readonly detail: { needed?: string; provided?: string } = {},
  ) {
    super(`Slack ${method}: ${code}${detail.needed ? ` (needs the scope ${detail.needed})` : ''}`);
  }
}

const AUTH_ERRORS = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'no_permission']);

export interface SlackApiOptions {
  token: string;
  apiUrl?: string;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** The real client, `@slack/web-api` loaded on first use. */
export async function createSlackApi(options: SlackApiOptions): Promise<SlackApi> {
  const { WebClient, LogLevel } = await import('@slack/web-api');
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };
  const client = new WebClient(options.token, {
    slackApiUrl: options.apiUrl || DEFAULT_SLACK_API_URL,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 30_000,
    logger: quiet,
  });
  const call = async <T>(method: string, args: Record<string, unknown>): Promise<T> => {
    try {
      return (await client.apiCall(method, args)) as T;
    } catch (error) {
      throw translate(method, error);
    }
  };
  const page = (result: { messages?: SlackMessage[]; has_more?: boolean; response_metadata?: { next_cursor?: string } }): SlackPage => {
    const next = result.response_metadata?.next_cursor;
    return { messages: result.messages ?? [], hasMore: Boolean(result.has_more), ...(next ? { nextCursor: next } : {}) };
  };
  const defined = (args: Record<string, unknown>) => Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
  return {
    async authTest() {
      const result = await call<{ team_id: string; team: string; url: string; user: string; user_id: string; bot_id?: string; response_metadata?: { scopes?: string[] } }>('auth.test', {});
      return {
        teamId: result.team_id,
        team: result.team,
        url: result.url,
        user: result.user,
        userId: result.user_id,
        ...(result.bot_id ? { botId: result.bot_id } : {}),
        scopes: result.response_metadata?.scopes ?? [],
      };
    },
    history: async (request) => page(await call('conversations.history', defined({ ...request }))),
    replies: async (request) => page(await call('conversations.replies', defined({ ...request }))),
    async channels(cursor) {
      const result = await call<{ channels?: SlackChannel[]; response_metadata?: { next_cursor?: string } }>('conversations.list', defined({ cursor, limit: 200, exclude_archived: false, types: 'public_channel,private_channel' }));
      const next = result.response_metadata?.next_cursor;
      return { channels: result.channels ?? [], ...(next ? { nextCursor: next } : {}) };
    },
    async users(cursor) {
      const result = await call<{ members?: SlackUser[]; response_metadata?: { next_cursor?: string } }>('users.list', defined({ cursor, limit: 200 }));
      const next = result.response_metadata?.next_cursor;
      return { users: result.members ?? [], ...(next ? { nextCursor: next } : {}) };
    },
  };
}

function translate(method: string, error: unknown): Error {
  const coded = error as { code?: string; retryAfter?: number; data?: { error?: string; needed?: string; provided?: string } };
  if (coded.code === 'slack_webapi_rate_limited_error') return new SlackRateLimitedError(method, Math.max(1, coded.retryAfter ?? 60) * 1000);
  if (coded.code === 'slack_webapi_platform_error') {
    const code = coded.data?.error ?? 'unknown_error';
    if (AUTH_ERRORS.has(code)) {
      return new SlackAuthError(`Slack refused the token (${code}) on ${method}: it was revoked or is wrong; paste a new one in Settings › Connections or run hearth connect`);
    }
    return new SlackApiError(method, code, { ...(coded.data?.needed ? { needed: coded.data.needed } : {}), ...(coded.data?.provided ? { provided: coded.data.provided } : {}) });
  }
  return new Error(`Slack ${method} failed: ${errorMessage(error)}`, { cause: error });
}
