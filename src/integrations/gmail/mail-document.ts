/**
 * A stored .eml as a knowledge-store document (the JSON the `json` format of
 * src/knowledge/normalize.ts reads): subject, from, to, date and the text
 * body; an HTML-only body is converted to text; attachments are listed by
 * name, never indexed. postal-mime and html-to-text load on first use.
 */

export interface MailDocument {
  subject: string;
  from: string;
  to: string;
  date: string;
  text: string;
  attachments: string[];
  labels: string[];
  messageId: string;
  url: string;
}

type Mailbox = { name?: string; address?: string; group?: Mailbox[] };

export async function mailDocument(raw: Uint8Array, meta: { id: string; labels: string[]; date: number; labelNames?: Record<string, string> }): Promise<MailDocument> {
  const { default: PostalMime } = await import('postal-mime');
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' } as never);
  let text = email.text?.trim() ?? '';
  if (!text && email.html) {
    const { convert } = await import('html-to-text');
    text = convert(email.html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, { selector: 'a', options: { ignoreHref: true } }] }).trim();
  }
  const attachments = (email.attachments ?? []).map((a) => a.filename ?? a.mimeType).filter((name): name is string => Boolean(name));
  const date = email.date && !Number.isNaN(Date.parse(email.date)) ? new Date(email.date).toISOString() : new Date(meta.date).toISOString();
  return {
    subject: email.subject ?? '(no subject)',
    from: addresses(email.from ? [email.from as Mailbox] : []),
    to: addresses((email.to ?? []) as Mailbox[]),
    date,
    // The text field must not be empty for the store; a body-less message is still found by its subject.
    text: text || email.subject || '(no text)',
    attachments,
    labels: meta.labels.map((l) => meta.labelNames?.[l] ?? l),
    messageId: email.messageId ?? '',
    url: `https://mail.google.com/mail/u/0/#all/${meta.id}`,
  };
}

function addresses(list: Mailbox[]): string {
  return list
    .flatMap((m) => (m.group ? m.group : [m]))
    .map((m) => (m.name && m.address ? `${m.name} <${m.address}>` : m.address ?? m.name ?? ''))
    .filter(Boolean)
    .join(', ');
}
