import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { CheckResult, ConnectionInfo, Connections } from '../../integrations/connect.js';
import type { Logger } from '../../core/logger.js';
import { UsageError } from '../../core/errors.js';
import { html, type Html } from './html.js';
import { actionButton, type Tab } from './layout.js';

/**
 * Settings › Connections: every connection in hearth.yaml with its type and
 * which secrets are saved (names only), a form per connection to paste a
 * secret (saved to the SecretsStore, never shown again), and the check's
 * answer (e.g. Slack's auth.test: workspace, scopes required and granted).
 * The fields, help and check come from the type's ConnectFlow
 * (src/integrations/connect.ts). A type whose secret comes from a consent
 * page in several steps (Gmail's OAuth) has its own page for them
 * (`ownPage`): its card links there instead of showing the paste form, and
 * keeps Check and Forget.
 */

export interface ConnectionPageHelpers {
  pageAuth: MiddlewareHandler;
  actionAuth: MiddlewareHandler;
  requireForm: MiddlewareHandler;
  limitForm: MiddlewareHandler;
  readForm(c: Context): Promise<URLSearchParams>;
  render(c: Context, tab: Tab, title: string, body: Html): Promise<Response>;
  logger: Logger;
  /** The page that connects this connection step by step (Gmail's consent steps), if its type has one. */
  ownPage?(info: ConnectionInfo): string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function mountConnectionPages(app: Hono, connections: Connections | undefined, h: ConnectionPageHelpers): void {
  const show = async (c: Context, result?: { name: string; check: CheckResult }) =>
    h.render(c, 'settings', 'Connections', connectionsBody(connections ? await connections.list() : undefined, result, h.ownPage));

  app.get('/settings/connections', h.pageAuth, (c) => show(c));

  app.post('/settings/connections/:name', h.requireForm, h.limitForm, h.actionAuth, async (c) => {
    const name = connectionName(c);
    if (!connections) throw new UsageError('this Hearth has no connections');
    const fields = await h.readForm(c);
    const values: Record<string, string> = {};
    for (const [key, value] of fields) values[key] = value;
    const check = await connections.save(name, values, c.req.raw.signal);
    // Names only: the values never reach the log.
    h.logger.info('connection secrets saved from the dashboard', { connection: name, keys: Object.keys(values).filter((key) => values[key]!.trim() !== ''), ok: check.ok });
    return show(c, { name, check });
  });

  app.post('/settings/connections/:name/check', h.requireForm, h.limitForm, h.actionAuth, async (c) => {
    const name = connectionName(c);
    if (!connections) throw new UsageError('this Hearth has no connections');
    return show(c, { name, check: await connections.check(name, c.req.raw.signal) });
  });

  app.post('/settings/connections/:name/forget', h.requireForm, h.limitForm, h.actionAuth, async (c) => {
    const name = connectionName(c);
    if (!connections) throw new UsageError('this Hearth has no connections');
    await connections.forget(name);
    h.logger.info('connection secrets forgotten from the dashboard', { connection: name });
    return c.redirect('/settings/connections', 303);
  });
}

function connectionName(c: Context): string {
  const name = c.req.param('name') ?? '';
  if (!NAME.test(name)) throw new UsageError(`invalid connection name "${name.slice(0, 64)}"`);
  return name;
}

export function connectionsBody(list: ConnectionInfo[] | undefined, result?: { name: string; check: CheckResult }, ownPage?: (info: ConnectionInfo) => string | undefined): Html {
  return html`<h1>Connections</h1>
<p class="small muted"><a href="/settings">‹ Settings</a> · Outside accounts named under <code>connections:</code> in hearth.yaml. A secret pasted here is saved on the appliance (mode 0600) and never shown again.</p>
${!list || list.length === 0
    ? html`<section class="card"><p class="empty">No connections in hearth.yaml. Add one, e.g.</p><pre class="mono small wrap">connections:\n  slack-home: { type: slack }</pre></section>`
    : list.map((info) => connectionCard(info, result?.name === info.name ? result.check : undefined, ownPage?.(info)))}`;
}

function connectionCard(info: ConnectionInfo, check: CheckResult | undefined, ownPage: string | undefined): Html {
  const d = info.description;
  const id = (key: string) => `conn-${info.name}-${key}`;
  return html`<section class="card connection" id="connection-${info.name}"><h2>${info.name} <span class="muted small">${info.type}</span></h2>
<p class="small">${d.summary}</p>
<p class="small">${info.ready ? html`<span class="badge ok">set up</span>` : html`<span class="badge warn">needs a secret</span>`}
${info.saved.length > 0 ? html` saved: <span class="mono">${info.saved.join(', ')}</span>` : ' nothing saved'}${info.fromConfig.length > 0 ? html` · from hearth.yaml (wins): <span class="mono">${info.fromConfig.join(', ')}</span>` : ''}</p>
${check && html`<div class="note ${check.ok ? 'ok' : 'error'}" role="status"><strong>${check.summary}</strong>${check.details.length > 0 ? html`<ul class="small">${check.details.map((line) => html`<li>${line}</li>`)}</ul>` : ''}</div>`}
${d.scopes.length > 0 && html`<p class="small">Scopes needed: <span class="mono">${d.scopes.join(' ')}</span></p>`}
<details><summary class="small">How to get it</summary><ol class="small">${d.help.map((line) => html`<li>${line}</li>`)}</ol></details>
${ownPage
    ? html`<p><a class="btn primary" href="${ownPage}">${info.ready ? 'Reconnect' : 'Connect'} step by step ›</a></p>`
    : html`<form method="post" action="/settings/connections/${info.name}" class="stack" autocomplete="off">
${d.fields.map((field) => html`<label for="${id(field.key)}">${field.label}${info.saved.includes(field.key) ? html` <span class="muted small">(saved; paste to replace)</span>` : ''}</label>
<input id="${id(field.key)}" name="${field.key}" type="${field.secret ? 'password' : 'text'}" maxlength="4096" placeholder="${field.placeholder ?? ''}" autocomplete="off" spellcheck="false">`)}
<button class="btn primary" type="submit">Save and check</button></form>`}
<div class="actions">${actionButton(`/settings/connections/${info.name}/check`, 'Check')}${info.saved.length > 0 && actionButton(`/settings/connections/${info.name}/forget`, 'Forget saved secrets', { kind: 'danger', confirm: `Forget the saved secrets of ${info.name}?` })}</div>
</section>`;
}
