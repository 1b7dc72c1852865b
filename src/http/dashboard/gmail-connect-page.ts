import type { Context, Hono, MiddlewareHandler } from 'hono';
import { UsageError } from '../../core/errors.js';
import type { GmailConnector, GmailConnectStatus } from '../../integrations/gmail/connect.js';
import { html, type Html } from './html.js';

/**
 * Settings › Connections › Gmail (`/settings/connections/gmail/NAME`): how to
 * make a Desktop OAuth client (with the 7-day "Testing" warning), a form for
 * its id and secret, the consent link, and a field for the 127.0.0.1 address
 * the phone's browser could not open. Secrets are never echoed back: the page
 * only says whether one is saved.
 *
 * The OAuth steps of a gmail connection, linked from its card on Settings ›
 * Connections (connections-page.ts), which lists it with every other
 * connection and keeps Check and Forget. It needs the connector and the
 * dashboard's auth/form helpers, nothing else.
 */
export interface GmailConnectPageDeps {
  connector: GmailConnector;
  pageAuth: MiddlewareHandler;
  actionAuth: MiddlewareHandler;
  requireForm: MiddlewareHandler;
  limitForm: MiddlewareHandler;
  readForm(c: Context): Promise<URLSearchParams>;
  render(c: Context, title: string, body: Html): Promise<Response> | Response;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function mountGmailConnect(app: Hono, deps: GmailConnectPageDeps): void {
  const base = '/settings/connections/gmail/:name';
  const nameOf = (c: Context): string => {
    const name = c.req.param('name') ?? '';
    if (!NAME.test(name)) throw new UsageError(`invalid connection name "${name}"`);
    return name;
  };
  const show = async (c: Context, name: string, extra: { consentUrl?: string; error?: string; done?: boolean } = {}, status = 200) => {
    const body = gmailConnectBody(await deps.connector.status(name), deps.connector.instructions, extra);
    const response = await deps.render(c, `Gmail: ${name}`, body);
    return status === 200 ? response : new Response(response.body, { status, headers: response.headers });
  };

  app.get(base, deps.pageAuth, (c) => show(c, nameOf(c), c.req.query('connected') ? { done: true } : {}));

  app.post(`${base}/start`, deps.requireForm, deps.limitForm, deps.actionAuth, async (c) => {
    const name = nameOf(c);
    const form = await deps.readForm(c);
    try {
      const { url } = await deps.connector.begin(name, { clientId: form.get('clientId') ?? '', clientSecret: form.get('clientSecret') ?? '' });
      return show(c, name, { consentUrl: url });
    } catch (error) {
      if (error instanceof UsageError) return show(c, name, { error: error.message }, 400);
      throw error;
    }
  });

  app.post(`${base}/finish`, deps.requireForm, deps.limitForm, deps.actionAuth, async (c) => {
    const name = nameOf(c);
    const form = await deps.readForm(c);
    try {
      await deps.connector.finish(name, form.get('redirect') ?? '');
      return c.redirect(`/settings/connections/gmail/${encodeURIComponent(name)}?connected=1`, 303);
    } catch (error) {
      if (error instanceof UsageError) return show(c, name, { error: error.message }, 400);
      throw error;
    }
  });

  app.post(`${base}/disconnect`, deps.requireForm, deps.limitForm, deps.actionAuth, async (c) => {
    const name = nameOf(c);
    await deps.connector.disconnect(name);
    return c.redirect(`/settings/connections/gmail/${encodeURIComponent(name)}`, 303);
  });
}

export function gmailConnectBody(status: GmailConnectStatus, instructions: string[], extra: { consentUrl?: string; error?: string; done?: boolean }): Html {
  const path = `/settings/connections/gmail/${encodeURIComponent(status.name)}`;
  return html`<section class="card">
  <h2>Gmail: ${status.name}</h2>
  <p class="small muted"><a href="/settings/connections">‹ Connections</a></p>
  <p>${status.connected ? html`<strong>Connected.</strong> Backups and label rules can use this account.` : html`<strong>Not connected yet.</strong>`}</p>
  ${extra.done && html`<p class="ok">Connected: the refresh token is saved in Hearth's secrets.</p>`}
  ${extra.error && html`<p class="error" role="alert">${extra.error}</p>`}
  <ol>${instructions.map((line) => html`<li>${line}</li>`)}</ol>
  ${extra.consentUrl
    ? html`<p><a class="button" href="${extra.consentUrl}" target="_blank" rel="noopener noreferrer">Open Google's consent page</a></p>
  <form method="post" action="${path}/finish">
    <label>The address your browser could not open (http://127.0.0.1:…)<br><input name="redirect" type="url" required autocomplete="off" placeholder="http://127.0.0.1:53682/?state=…&amp;code=…"></label>
    <button type="submit">Connect</button>
  </form>`
    : html`<form method="post" action="${path}/start">
    ${!status.clientIdFromConfig && html`<label>Client ID<br><input name="clientId" value="${status.clientId ?? ''}" autocomplete="off"></label>`}
    <label>Client secret${status.hasClientSecret ? ' (saved; leave empty to keep it)' : ''}<br><input name="clientSecret" type="password" autocomplete="off"></label>
    <button type="submit">${status.connected ? 'Reconnect' : 'Connect'}</button>
  </form>`}
  ${status.connected && html`<form method="post" action="${path}/disconnect"><button type="submit">Forget the saved sign-in</button></form>`}
</section>`;
}
