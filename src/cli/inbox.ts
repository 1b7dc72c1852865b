import { UsageError } from '../core/errors.js';
import type { InboxItem } from '../steps/inbox.js';
import type { CommandArgs } from './args.js';
import { booleanValue } from './args.js';
import type { ApiClient } from './client.js';
import type { CliContext } from './context.js';
import { useColor } from './context.js';
import { formatTime, json, renderTable } from './format.js';
import { displayZone } from './remote.js';

/** `hearth inbox`: the questions waiting workflows ask, oldest first. */
export async function inboxCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const body = await client.getJson<{ questions: InboxItem[] }>('/api/inbox');
  if (booleanValue(args, 'json')) {
    ctx.stdout.write(json(body));
    return 0;
  }
  if (body.questions.length === 0) {
    ctx.stdout.write('no open questions\n');
    return 0;
  }
  const zone = displayZone(ctx);
  const rows = body.questions.map((q) => [
    { text: q.id },
    { text: q.job },
    { text: q.prompt },
    { text: answerHint(q) },
    { text: formatTime(q.askedAt, zone) },
    { text: q.expiresAt ? formatTime(q.expiresAt, zone) : '-' },
  ]);
  ctx.stdout.write(renderTable(['ID', 'JOB', 'QUESTION', 'ANSWER WITH', 'ASKED', 'EXPIRES'], rows, useColor(ctx)));
  ctx.stderr.write(`answer with: hearth answer ${body.questions[0]!.id} VALUE\n`);
  return 0;
}

/** What a person may answer: the choices, or the schema's type. */
function answerHint(q: InboxItem): string {
  if (q.choices?.length) return q.choices.map((choice) => (typeof choice === 'string' ? choice : JSON.stringify(choice))).join(' | ');
  const type = q.schema?.type;
  if (type === 'boolean') return 'true | false';
  if (type === 'object') return 'JSON object';
  return typeof type === 'string' ? type : 'any JSON';
}

/**
 * `hearth answer ID VALUE`: VALUE is read as JSON (`true`, `42`,
 * `{"days":30}`), or as a plain string when it is not valid JSON (`yes`).
 */
export async function answerCommand(args: CommandArgs, ctx: CliContext, client: ApiClient): Promise<number> {
  const [id, raw] = args.positionals;
  if (!id || raw === undefined) throw new UsageError('usage: hearth answer ID VALUE');
  const value = parseAnswer(raw);
  const item = await client.postJson<InboxItem>(`/api/inbox/${encodeURIComponent(id)}`, {}, { value });
  if (booleanValue(args, 'json')) ctx.stdout.write(json(item));
  else ctx.stdout.write(`answered ${item.id} (${item.job}): ${JSON.stringify(item.value)}\n`);
  return 0;
}

export function parseAnswer(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
