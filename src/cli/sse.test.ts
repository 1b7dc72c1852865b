import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split at any byte boundary', () => {
    const text = 'event: line\ndata: hello\n\n: heartbeat\n\nevent: end\ndata: {"status":"failed"}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'line', data: 'hello' },
        { event: 'end', data: '{"status":"failed"}' },
      ]);
    }
  });

  it('handles CRLF and CR line endings, multi-line data and empty data', () => {
    const parser = new SseParser();
    expect(parser.push('event: line\r\ndata: a\r\ndata: b\r\n\r\nevent: line\rdata:\r\r')).toEqual([
      { event: 'line', data: 'a\nb' },
    ]);
    // The final \r might have been the first half of \r\n, so that event waits for the next byte.
    expect(parser.push('event: x\n')).toEqual([{ event: 'line', data: '' }]);
  });

  it('keeps a leading space beyond the first, defaults the event name, and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\ndata:  indented\n\n')).toEqual([{ event: 'message', data: ' indented' }]);
  });

  it('does not dispatch an event without data', () => {
    expect(new SseParser().push('event: end\n\n')).toEqual([]);
  });
});

describe('readSse', () => {
  it('reads events from a byte stream and drops a trailing event cut off by the end', async () => {
    const encoder = new TextEncoder();
    const chunks = ['event: line\nda', 'ta: é\n\n', 'event: line\ndata: cut off'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Split the two-byte "é" across chunks as well.
        const bytes = chunks.map((chunk) => encoder.encode(chunk));
        const second = bytes[1]!;
        controller.enqueue(bytes[0]!);
        controller.enqueue(second.slice(0, 7));
        controller.enqueue(second.slice(7));
        controller.enqueue(bytes[2]!);
        controller.close();
      },
    });
    const events = [];
    for await (const event of readSse(body)) events.push(event);
    expect(events).toEqual([{ event: 'line', data: 'é' }]);
  });
});
