import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSearchSink, SinkError } from './sink.js';
import type { SinkDocument } from './sink.js';
import { FakeSearchServer } from './testing.js';

let server: FakeSearchServer;
let url: string;

beforeEach(async () => {
  server = new FakeSearchServer();
  url = await server.start();
});

afterEach(async () => {
  await server.stop();
});

const doc = (key: string, text: string): SinkDocument => ({ source: 'slack', key, title: `t ${key}`, author: 'alice', url: `https://x/${key}`, timestamp: Date.parse('2026-03-01T10:00:00Z'), text });

describe.each(['elasticsearch', 'opensearch'] as const)('%s sink (fake bulk endpoint on 127.0.0.1)', (type) => {
  it('indexes with the bulk API under stable ids: sending the same documents again adds nothing, a delete removes', async () => {
    const sink = await createSearchSink({ type, url, index: 'hearth-slack', apiKey: 'k3y' });
    await sink.index([doc('T1/C1/1', 'hello'), doc('T1/C1/2', 'world')]);
    await sink.index([doc('T1/C1/1', 'hello again'), doc('T1/C1/2', 'world')]);
    const stored = server.documents('hearth-slack');
    expect(stored).toHaveLength(2);
    expect(stored.map((d) => d.text).sort()).toEqual(['hello again', 'world']);
    expect(stored[0]).toMatchObject({ source: 'slack', author: 'alice', timestamp: '2026-03-01T10:00:00.000Z' });
    await sink.remove('slack', ['T1/C1/2', 'T1/C1/never-there']);
    expect(server.documents('hearth-slack')).toHaveLength(1);
    expect(server.requests.every((r) => r.authorization === 'ApiKey k3y')).toBe(true);
    await sink.close();
  });

  it('fails with the reason when the index refuses a document', async () => {
    const sink = await createSearchSink({ type, url, index: 'hearth-slack' });
    server.failNext = 'failed to parse field [timestamp]';
    const failed = sink.index([doc('a', 'x')]);
    await expect(failed).rejects.toBeInstanceOf(SinkError);
    await expect(failed).rejects.toThrow(/refused a document: index 400: mapper_parsing_exception failed to parse field \[timestamp\]/);
    await sink.close();
  });
});
