import type { FetchLike } from './context.js';
import { readSse } from './sse.js';
import type { SseEvent } from './sse.js';

/** The HTTP client the remote commands (jobs, run, runs, logs, cancel) share. */

/** The appliance answered with an error (`{ error: { code, message } }`). */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Nothing answered at the base URL. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  constructor(readonly url: string, options?: ErrorOptions) {
    super(`cannot reach the appliance: is hearth running? (tried ${url})`, options);
  }
}

/** An event stream broke off before its `end` event. */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError';
}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  /** Where the token came from, for the hint on a 401 (never the token itself). */
  tokenSource: string;
  fetch: FetchLike;
  /** hearth.yaml's problems were already printed as a warning (so `jobs` need not repeat them). */
  configIssuesShown?: boolean;
}

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  get configIssuesShown(): boolean {
    return this.options.configIssuesShown === true;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async getJson<T>(path: string): Promise<T> {
    const response = await this.send(path, { method: 'GET' });
    return (await response.json()) as T;
  }

  /** POST with no body, or with `body` sent as JSON. */
  async postJson<T>(path: string, headers: Record<string, string> = {}, body?: unknown): Promise<T> {
    const init: RequestInit =
      body === undefined
        ? { method: 'POST', headers }
        : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const response = await this.send(path, init);
    return (await response.json()) as T;
  }

  async getText(path: string): Promise<string> {
    const response = await this.send(path, { method: 'GET' });
    return await response.text();
  }

  /** The response body as text, handed on chunk by chunk (a large log is never one string). */
  async streamText(path: string, onText: (text: string) => void | Promise<void>): Promise<void> {
    const response = await this.send(path, { method: 'GET' });
    if (!response.body) return;
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      const text = decoder.decode(chunk, { stream: true });
      if (text) await onText(text);
    }
    const rest = decoder.decode();
    if (rest) await onText(rest);
  }

  /** Server-Sent Events from `path`; throws ConnectionLostError if the connection drops mid-stream. */
  async *events(path: string): AsyncGenerator<SseEvent> {
    const response = await this.send(path, { method: 'GET', headers: { Accept: 'text/event-stream' } });
    if (!response.body) throw new ConnectionLostError('the appliance sent an empty event stream');
    try {
      yield* readSse(response.body);
    } catch (error) {
      if (error instanceof Error && !(error instanceof ApiRequestError)) {
        throw new ConnectionLostError(`lost the connection to ${this.options.baseUrl}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${this.options.token}`);
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.baseUrl}${path}`, { ...init, headers });
    } catch (error) {
      throw new UnreachableError(this.options.baseUrl, { cause: error });
    }
    if (response.ok) return response;
    throw await this.toError(response);
  }

  private async toError(response: Response): Promise<ApiRequestError> {
    const text = await response.text().catch(() => '');
    let code = `http_${response.status}`;
    let message = `HTTP ${response.status} ${response.statusText}`.trim();
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // Not one of ours (a proxy, or something else on the port): keep the status line.
    }
    if (response.status === 401) message += ` (token from ${this.options.tokenSource})`;
    return new ApiRequestError(response.status, code, message);
  }
}
