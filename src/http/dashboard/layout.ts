import type { HealthView } from '../../engine/port.js';
import type { Assets } from './assets.js';
import { html, type Html } from './html.js';

export type Tab = 'overview' | 'inbox' | 'jobs' | 'runs' | 'search' | 'system' | 'settings' | 'none';

export interface PageOptions {
  title: string;
  tab: Tab;
  body: Html;
  /** Present when logged in: shows the navigation and the appliance warnings. */
  health?: HealthView;
  /**
   * What live events refresh this page's `[data-live]` region: `*` (any
   * run), `job:<name>`, `run:<id>`; `every:<seconds>` re-reads it on a timer.
   */
  live?: string;
  /** The zone every time on the page is shown in (the config's); named once, at the foot of the page. */
  timeZone?: string;
  /** Open inbox questions: the Inbox tab's badge. */
  inbox?: number;
}

const TABS: Array<{ tab: Tab; href: string; label: string; icon: string }> = [
  { tab: 'overview', href: '/', label: 'Overview', icon: '⌂' },
  { tab: 'inbox', href: '/inbox', label: 'Inbox', icon: '✉' },
  { tab: 'jobs', href: '/jobs', label: 'Jobs', icon: '☰' },
  { tab: 'runs', href: '/runs', label: 'Runs', icon: '↻' },
  { tab: 'search', href: '/search', label: 'Search', icon: '⌕' },
  { tab: 'system', href: '/system', label: 'System', icon: '◎' },
  { tab: 'settings', href: '/settings', label: 'Settings', icon: '⚙' },
];

export function page(assets: Assets, options: PageOptions): Html {
  const { title, tab, body, health, live, timeZone, inbox } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>${title} · Hearth</title>
<meta name="color-scheme" content="light dark">
<meta name="theme-color" content="#f6f3ee" media="(prefers-color-scheme: light)">
<meta name="theme-color" content="#191817" media="(prefers-color-scheme: dark)">
<meta name="apple-mobile-web-app-capable" content="yes">
<meta name="mobile-web-app-capable" content="yes">
<link rel="manifest" href="${assets.url('manifest.webmanifest')}">
<link rel="icon" href="${assets.url('icon.svg')}" type="image/svg+xml">
${assets.has('icon-180.png') && html`<link rel="apple-touch-icon" href="${assets.url('icon-180.png')}">`}
<link rel="stylesheet" href="${assets.url('app.css')}">
<script src="${assets.url('app.js')}" defer></script>
</head>
<body${timeZone ? html` data-tz="${timeZone}"` : ''}>
<header class="top">
<a class="brand" href="/"><img src="${assets.url('icon.svg')}" alt="" width="28" height="28"> Hearth</a>
${health && html`<nav class="tabs" aria-label="Sections">${TABS.map(
    (t) => html`<a href="${t.href}"${t.tab === tab ? html` aria-current="page"` : ''}><span aria-hidden="true">${t.icon}</span>${t.label}${t.tab === 'inbox' && inbox ? html` <b class="count" aria-label="${inbox} open">${inbox}</b>` : ''}</a>`,
  )}</nav>`}
</header>
${health && warnings(health, tab)}
<main id="main"${live ? html` data-live="${live}"` : ''}>
${body}
</main>
${timeZone && html`<footer class="tz small muted">Times in ${timeZone}. Tap a time to switch between “3 h ago” and the exact time.</footer>`}
</body>
</html>`;
}

/** Problems worth a banner on every page: a full disk, a clock that cannot be trusted, a config that failed to load. */
function warnings(health: HealthView, tab: Tab): Html {
  // On the overview the details are further down the same page: jump there rather than reload it.
  const details = tab === 'overview' ? '#config-errors' : '/#config-errors';
  return html`${health.disk?.message && html`<p class="banner ${health.disk.full ? 'error' : 'warn'}" role="alert"><strong>${health.disk.full ? 'Disk full.' : 'Disk nearly full.'}</strong> ${health.disk.message}</p>`}
${!health.clock.trusted && html`<p class="banner warn" role="alert"><strong>Clock not trusted.</strong> ${health.clock.message ?? 'Nothing is scheduled until the clock is set.'}</p>`}
${health.config.errors && html`<p class="banner error" role="alert"><strong>Config reload failed</strong>; the previous jobs keep running. <a href="${details}">Details</a></p>`}
${notifyWarning(health)}`;
}

/** A channel that failed this many times in a row gets a banner: messages are not reaching you. */
export const NOTIFY_FAILING_AFTER = 3;

function notifyWarning(health: HealthView): Html {
  const failing = (health.notify?.channels ?? []).filter((channel) => channel.consecutiveFailures >= NOTIFY_FAILING_AFTER);
  if (failing.length === 0) return html``;
  const names = failing.map((channel) => `${channel.name} (${channel.consecutiveFailures} failed attempts${channel.pending > 0 ? `, ${channel.pending} waiting` : ''})`).join(', ');
  return html`<p class="banner warn" role="alert"><strong>Notifications are not getting through:</strong> ${names}. <a href="/settings#notifications">Settings</a></p>`;
}

/** A POST form with one button; `confirm` asks for a second tap on touch screens. */
export function actionButton(action: string, label: string, options: { confirm?: string; kind?: 'primary' | 'danger' | 'plain'; fields?: Record<string, string> } = {}): Html {
  return html`<form method="post" action="${action}" class="inline"${options.confirm ? html` data-confirm="${options.confirm}"` : ''}>${Object.entries(
    options.fields ?? {},
  ).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}<button type="submit" class="btn ${options.kind ?? 'plain'}">${label}</button></form>`;
}
