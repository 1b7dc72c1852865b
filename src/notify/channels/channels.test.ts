import { ChannelError } from '../../core/errors.js';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import PostalMime from 'postal-mime';
import type { NotifyChannelDef } from '../../config/types.js';
import { type OutgoingMessage } from '../message.js';
import { createChannel } from './index.js';

/** A receiver on 127.0.0.1 that records each request and answers what `reply` says. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function fakeHttp(reply: (request: Received) => { status: number; body: string } = () => ({ status: 200, body: 'ok' })) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      received.push(request);
      const answer = reply(request);
      res.writeHead(answer.status, { 'Content-Type': answer.body.startsWith('{') ? 'application/json' : 'text/plain' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => server.close() });
  return { received, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A job name and output full of characters that mean something in HTML, Slack mrkdwn and Markdown. */
const NASTY = '<b>&"back*up*"_</b> <!channel> <@U123>';
const message = (extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  id: 'hn-abc-123',
  kind: 'failure',
  job: NASTY,
  runId: 'r-1',
  title: `${NASTY} failed`,
  body: 'line 1\n<script>alert(1)</script> `rm -rf` *bold*',
  url: 'http://hearth.local:8080/runs/r-1',
  path: '/runs/r-1',
  at: Date.UTC(2026, 2, 2, 9, 0),
  held: { count: 7, since: Date.UTC(2026, 2, 2, 8, 0), text: 'and 7 more failures since 08:00' },
  ...extra,
});

function channel(type: NotifyChannelDef['type'], settings: Record<string, string>): NotifyChannelDef {
  return { name: 'c', type, settings };
}

async function failureOf(promise: Promise<unknown>): Promise<ChannelError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ChannelError);
  return error as ChannelError;
}

describe('ntfy', () => {
  it('posts the text to the topic with title, link, id and token', async () => {
    const fake = await fakeHttp(() => ({ status: 200, body: '{"id":"x1","event":"message"}' }));
    const sender = createChannel(channel('ntfy', { url: `${fake.base}/alerts`, token: 'tk_secret_1' }));
    const answer = await sender.send(message({ title: 'backup — échec <b>' }));
    expect(answer.status).toBe('200 OK');
    expect(answer.detail).toContain('"id":"x1"');
    const [request] = fake.received;
    expect(request!.url).toBe('/alerts');
    expect(request!.headers.authorization).toBe('Bearer tk_secret_1');
    expect(request!.headers['x-message-id']).toBe('hn-abc-123');
    expect(request!.headers.click).toBe('http://hearth.local:8080/runs/r-1');
    // Not ASCII: RFC 2047, which ntfy decodes.
    expect(Buffer.from(/=\?UTF-8\?B\?(.+)\?=/.exec(String(request!.headers.title))![1]!, 'base64').toString('utf8')).toBe('backup — échec <b>');
    expect(request!.body).toContain('<script>alert(1)</script>');
    expect(request!.body).toContain('and 7 more failures since 08:00');
  });

  it('a refused message is a ChannelError with the status and without the token', async () => {
    const fake = await fakeHttp((request) => ({ status: 403, body: `forbidden for ${String(request.headers.authorization)}` }));
    const error = await failureOf(createChannel(channel('ntfy', { url: `${fake.base}/alerts`, token: 'tk_secret_1' })).send(message()));
    expect(error.status).toBe(403);
    expect(error.message).toContain('403 Forbidden');
    expect(error.message).not.toContain('tk_secret_1');
  });

  it('an unreachable receiver is a ChannelError naming only the host', async () => {
    const port = await closedPort();
    const error = await failureOf(createChannel(channel('ntfy', { url: `http://127.0.0.1:${port}/alerts?auth=qs_secret_2` })).send(message()));
    expect(error.message).toBe(`could not reach 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    expect(error.message).not.toContain('qs_secret_2');
  });
});

describe('webhook', () => {
  it('posts the documented JSON body with the id in it and in X-Hearth-Id', async () => {
    const fake = await fakeHttp();
    await createChannel(channel('webhook', { url: `${fake.base}/hearth`, token: 'wh_secret_3' })).send(message());
    const [request] = fake.received;
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-hearth-id']).toBe('hn-abc-123');
    expect(request!.headers.authorization).toBe('Bearer wh_secret_3');
    expect(JSON.parse(request!.body)).toEqual({
      id: 'hn-abc-123',
      kind: 'failure',
      job: NASTY,
      runId: 'r-1',
      title: `${NASTY} failed`,
      body: 'line 1\n<script>alert(1)</script> `rm -rf` *bold*',
      url: 'http://hearth.local:8080/runs/r-1',
      path: '/runs/r-1',
      at: '2026-03-02T09:00:00.000Z',
      held: { count: 7, since: '2026-03-02T08:00:00.000Z', text: 'and 7 more failures since 08:00' },
    });
  });
});

describe('slack', () => {
  it('an incoming webhook gets mrkdwn with &, < and > escaped, so names cannot mention or link', async () => {
    const fake = await fakeHttp();
    const webhook = `${fake.base}/services/T000/B000/slack_secret_4`;
    await createChannel(channel('slack', { webhook })).send(message());
    const body = JSON.parse(fake.received[0]!.body) as { text: string; blocks: Array<{ text: { text: string } }> };
    expect(body.text).toContain('*&lt;b&gt;&amp;"back*up*"_&lt;/b&gt; &lt;!channel&gt; &lt;@U123&gt; failed*');
    expect(body.text).not.toContain('<!channel>');
    expect(body.text).toContain('&lt;script&gt;');
    expect(body.text).toContain('<http://hearth.local:8080/runs/r-1|Open in Hearth>');
    expect(body.blocks[0]!.text.text).toBe(body.text);
  });

  it('a failing webhook does not leak its URL (the URL is the secret)', async () => {
    const fake = await fakeHttp((request) => ({ status: 404, body: `no_service at ${request.url}` }));
    const error = await failureOf(createChannel(channel('slack', { webhook: `${fake.base}/services/T000/B000/slack_secret_4` })).send(message()));
    expect(error.message).toContain('404');
    expect(error.message).not.toContain('slack_secret_4');
  });

  it('a bot token posts through @slack/web-api chat.postMessage at the configured apiUrl', async () => {
    const fake = await fakeHttp((request) =>
      request.url.endsWith('/chat.postMessage') ? { status: 200, body: '{"ok":true,"channel":"C1","ts":"1.2"}' } : { status: 404, body: '{}' },
    );
    const answer = await createChannel(channel('slack', { token: 'xoxb-slack_secret_5', channel: '#home', apiUrl: `${fake.base}/api/` })).send(message());
    expect(answer).toEqual({ status: 'ok', detail: 'ts 1.2 in C1' });
    const [request] = fake.received;
    expect(request!.url).toBe('/api/chat.postMessage');
    expect(request!.headers.authorization).toBe('Bearer xoxb-slack_secret_5');
    const form = request!.headers['content-type']?.includes('json') ? (JSON.parse(request!.body) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(request!.body));
    expect(form.channel).toBe('#home');
    expect(String(form.text)).toContain('&lt;!channel&gt;');
  });

  it('a bot call Slack refuses is a ChannelError with Slack\'s error code and no token', async () => {
    const fake = await fakeHttp(() => ({ status: 200, body: '{"ok":false,"error":"invalid_auth"}' }));
    const error = await failureOf(createChannel(channel('slack', { token: 'xoxb-slack_secret_5', channel: '#home', apiUrl: `${fake.base}/api/` })).send(message()));
    expect(error.message).toContain('invalid_auth');
    expect(error.message).not.toContain('slack_secret_5');
  });
});

describe('telegram', () => {
  it('calls sendMessage at the configured API URL in HTML mode, every value escaped', async () => {
    const fake = await fakeHttp(() => ({ status: 200, body: '{"ok":true,"result":{"message_id":5}}' }));
    await createChannel(channel('telegram', { token: '123:tg_secret_6', chatId: '42', apiUrl: fake.base })).send(message());
    const [request] = fake.received;
    expect(request!.url).toBe('/bot123:tg_secret_6/sendMessage');
    const body = JSON.parse(request!.body) as { chat_id: string; text: string; parse_mode: string };
    expect(body).toMatchObject({ chat_id: '42', parse_mode: 'HTML' });
    expect(body.text).toContain('<b>&#60;b&#62;&#38;&#34;back*up*&#34;_&#60;/b&#62;');
    expect(body.text).toContain('&#60;script&#62;');
    expect(body.text).not.toContain('<script>');
    expect(body.text).toContain('<a href="http://hearth.local:8080/runs/r-1">Open in Hearth</a>');
  });

  it('errors never carry the bot token, which is part of the URL', async () => {
    const fake = await fakeHttp((request) => ({ status: 401, body: `{"ok":false,"description":"Unauthorized ${request.url}"}` }));
    const error = await failureOf(createChannel(channel('telegram', { token: '123:tg_secret_6', chatId: '42', apiUrl: fake.base })).send(message()));
    expect(error.message).toContain('401');
    expect(error.message).not.toContain('tg_secret_6');
  });
});

describe('email', () => {
  async function fakeSmtp(options: { password: string }) {
    const mails: Array<{ from: string; to: string[]; raw: string; user?: string }> = [];
    const server = new SMTPServer({
      secure: false,
      hideSTARTTLS: true,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.password === options.password) callback(null, { user: auth.username });
        else callback(new Error(`Invalid username or password ${auth.password ?? ''}`));
      },
      onData(stream, session, callback) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (raw += chunk));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, user: String(session.user) });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => server.close() });
    return { mails, port: (server.server.address() as AddressInfo).port };
  }

  it('sends a text and an escaped HTML part through nodemailer, with the id as Message-ID', async () => {
    const smtp = await fakeSmtp({ password: 'mail_secret_7' });
    const sender = createChannel(
      channel('email', { smtp: `smtp://me:mail_secret_7@127.0.0.1:${smtp.port}`, from: 'hearth@home.lan', to: 'me@example.com, you@example.com' }),
    );
    const answer = await sender.send(message());
    expect(answer.status).toMatch(/^250/);
    const [mail] = smtp.mails;
    expect(mail!.from).toBe('hearth@home.lan');
    expect(mail!.to).toEqual(['me@example.com', 'you@example.com']);
    const parsed = await PostalMime.parse(mail!.raw);
    expect(parsed.messageId).toBe('<hn-abc-123@hearth>');
    expect(parsed.subject).toBe(`[hearth] ${NASTY} failed`);
    expect(parsed.text).toContain('<script>alert(1)</script>');
    expect(parsed.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(parsed.html).not.toContain('<script>');
    expect(parsed.html).toContain('<a href="http://hearth.local:8080/runs/r-1">Open in Hearth</a>');
  });

  it('a refused login is a ChannelError without the password', async () => {
    const smtp = await fakeSmtp({ password: 'right' });
    const error = await failureOf(
      createChannel(channel('email', { smtp: `smtp://me:mail_secret_7@127.0.0.1:${smtp.port}`, from: 'hearth@home.lan', to: 'me@example.com' })).send(message()),
    );
    expect(error.message).toContain('the mail server refused the message');
    expect(error.message).not.toContain('mail_secret_7');
  });
});

describe('secrets from the store', () => {
  it('a token left out of hearth.yaml comes from the saved secrets; one in the file wins', async () => {
    const fake = await fakeHttp();
    await createChannel(channel('ntfy', { url: `${fake.base}/t` }), { token: 'saved_token' }).send(message());
    await createChannel(channel('ntfy', { url: `${fake.base}/t`, token: 'file_token' }), { token: 'saved_token' }).send(message());
    expect(fake.received.map((r) => r.headers.authorization)).toEqual(['Bearer saved_token', 'Bearer file_token']);
  });
});
