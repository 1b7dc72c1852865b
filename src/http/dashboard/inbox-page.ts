import { UsageError } from '../../core/errors.js';
import type { InboxItem } from '../../steps/inbox.js';
import { timeTag } from './format.js';
import { html, type Html } from './html.js';
import type { RenderContext } from './pages.js';

/**
 * The Inbox: questions waiting workflows ask (step.waitForInput). Made for a
 * thumb: choices are big buttons, a yes/no question is two buttons, an
 * object schema is a short form; everything posts to /inbox/:id and works
 * without JavaScript.
 */
export function inboxBody(ctx: RenderContext, questions: InboxItem[]): Html {
  if (questions.length === 0) return html`<h1>Inbox</h1><p class="empty">No questions. Workflows that ask you something (step.waitForInput) show up here.</p>`;
  return html`<h1>Inbox</h1><ul class="cards">${questions.map((q) => questionCard(ctx, q))}</ul>`;
}

function questionCard(ctx: RenderContext, q: InboxItem): Html {
  return html`<li class="card question" id="${q.id}">
<h2>${q.prompt}</h2>
<p class="muted small"><a href="/jobs/${q.job}">${q.job}</a> · <a href="/runs/${q.runId}">run</a> · asked ${timeTag(q.askedAt, ctx.timeZone)}${q.expiresAt ? html` · expires ${timeTag(q.expiresAt, ctx.timeZone)}` : ''}</p>
${answerForm(q)}
</li>`;
}

function answerForm(q: InboxItem): Html {
  const action = `/inbox/${q.id}`;
  const button = (value: unknown, label: string, kind: 'primary' | 'plain') =>
    html`<form method="post" action="${action}" class="inline"><input type="hidden" name="json" value="${JSON.stringify(value)}"><button type="submit" class="btn ${kind}">${label}</button></form>`;
  if (q.choices?.length) {
    return html`<div class="actions answers">${q.choices.map((choice, i) => button(choice, typeof choice === 'string' ? choice : JSON.stringify(choice), i === 0 ? 'primary' : 'plain'))}</div>`;
  }
  const schema = q.schema ?? {};
  if (schema.type === 'boolean') return html`<div class="actions answers">${button(true, 'Yes', 'primary')}${button(false, 'No', 'plain')}</div>`;
  const properties = schema.type === 'object' ? (schema.properties as Record<string, Record<string, unknown>> | undefined) : undefined;
  if (properties) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    return html`<form method="post" action="${action}" class="answer-form"><input type="hidden" name="form" value="object">
${Object.entries(properties).map(([name, field]) => fieldInput(name, field, required.has(name)))}
<div class="actions"><button type="submit" class="btn primary">Send</button></div></form>`;
  }
  const type = schema.type === 'number' || schema.type === 'integer' ? 'number' : 'text';
  return html`<form method="post" action="${action}" class="answer-form"><input type="hidden" name="form" value="single">
<label><span class="muted small">Answer</span><input name="text" type="${type}"${type === 'number' ? html` step="${schema.type === 'integer' ? '1' : 'any'}" inputmode="decimal"` : ''} required></label>
<div class="actions"><button type="submit" class="btn primary">Send</button></div></form>`;
}

function fieldInput(name: string, field: Record<string, unknown>, required: boolean): Html {
  const label = typeof field.title === 'string' ? field.title : name;
  const req = required ? html` required` : '';
  const input = Array.isArray(field.enum)
    ? html`<select name="field.${name}"${req}>${field.enum.map((option) => html`<option value="${JSON.stringify(option)}">${String(option)}</option>`)}</select>`
    : field.type === 'boolean'
      ? html`<input type="checkbox" name="field.${name}" value="true">`
      : field.type === 'number' || field.type === 'integer'
        ? html`<input type="number" name="field.${name}" step="${field.type === 'integer' ? '1' : 'any'}" inputmode="decimal"${req}>`
        : html`<input type="text" name="field.${name}"${req}>`;
  return html`<label class="field"><span class="muted small">${label}</span>${input}</label>`;
}

/** The answer a submitted form stands for, read with the question's schema. */
export function answerFromForm(q: InboxItem, form: URLSearchParams): unknown {
  const json = form.get('json');
  if (json !== null) {
    try {
      return JSON.parse(json) as unknown;
    } catch (error) {
      throw new UsageError('the answer is not valid JSON', { cause: error });
    }
  }
  const schema = q.schema ?? {};
  if (form.get('form') === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const value: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(properties)) {
      const raw = form.get(`field.${name}`);
      if (field.type === 'boolean') value[name] = raw === 'true';
      else if (raw === null || raw === '') continue;
      else if (Array.isArray(field.enum)) value[name] = parseJson(raw);
      else if (field.type === 'number' || field.type === 'integer') value[name] = Number(raw);
      else value[name] = raw;
    }
    return value;
  }
  const text = form.get('text') ?? '';
  if (schema.type === 'number' || schema.type === 'integer') return text.trim() === '' ? undefined : Number(text);
  if (schema.type === 'string') return text;
  return parseJson(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
