import type { ChannelStatus } from '../../notify/notifier.js';
import { timeTag } from './format.js';
import { html, type Html } from './html.js';
import { actionButton } from './layout.js';

/** What the last "Send test" gave, shown above the channels. */
export type TestOutcome = { channel: string; ok: true; status: string; detail?: string } | { channel: string; ok: false; error: string };

/**
 * Settings › Notifications: each channel with its last delivery and last
 * error, and a "Send test" button. Names, types and delivery state only:
 * settings and secrets never reach the page.
 */
export function notifySection(timeZone: string, channels: ChannelStatus[] | undefined, outcome?: TestOutcome): Html {
  if (channels === undefined) return html``;
  return html`<section class="card" id="notifications"><h2>Notifications</h2>
${outcome && (outcome.ok
    ? html`<p class="note" role="status">Test sent to <strong>${outcome.channel}</strong>: ${outcome.status}${outcome.detail ? html`<br><span class="small mono wrap">${outcome.detail}</span>` : ''}</p>`
    : html`<p class="note error" role="alert">Test to <strong>${outcome.channel}</strong> failed: ${outcome.error}<br><span class="small">It stays in the outbox and is retried.</span></p>`)}
${channels.length === 0
    ? html`<p class="empty">No channels. Add <code>notify.channels</code> to hearth.yaml (see the README, “Notifications”).</p>`
    : html`<ul class="list channels">${channels.map((channel) => html`<li data-channel="${channel.name}"><div><strong>${channel.name}</strong> <span class="muted small">${channel.type}</span><br>
<span class="small">${channel.lastDeliveryAt ? html`last delivery ${timeTag(channel.lastDeliveryAt, timeZone)}` : html`<span class="muted">nothing delivered yet</span>`}${channel.pending > 0 ? html` · <span class="warn-text">${channel.pending} waiting</span>` : ''}</span>
${channel.consecutiveFailures > 0 && html`<br><span class="small bad">failing (${channel.consecutiveFailures}×)${channel.lastErrorAt ? html` since ${timeTag(channel.lastErrorAt, timeZone)}` : ''}: ${channel.lastError ?? ''}</span>`}</div>${actionButton(`/settings/notify/${encodeURIComponent(channel.name)}/test`, 'Send test')}</li>`)}</ul>`}
</section>`;
}
