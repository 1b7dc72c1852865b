import { describe, expect, it } from 'vitest';
import { NonRetriableError, NotFoundError } from '../../core/errors.js';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.js';
import { testActionContext } from '../testing.js';
import { createSlackAction } from './slack.js';
import type { ConnectionResolver } from './slack.js';

const noStore = async (): Promise<KnowledgeBase> => {
  throw new Error('the store is not reached');
};

function action(resolve: ConnectionResolver['resolve']) {
  return createSlackAction({ store: noStore, connections: { resolve } });
}

describe('action ingest.slack', () => {
  it('validates with: at load time (unknown keys, durations, channels)', () => {
    const { validate } = action(async () => { throw new Error('unused'); });
    expect(validate({ connection: 'slack-home', channels: ['general'], lookback: '10m', since: '90d' })).toEqual([]);
    expect(validate({ connection: 'slack-home', lookback: 'soon', chanels: 'all' })).toEqual([
      { path: 'lookback', message: 'invalid duration "soon" (use e.g. 30s, 15m, 1h30m)' },
      { path: 'chanels', message: 'unknown field' },
    ]);
    expect(validate({ connection: 'slack-home', elasticsearch: { url: 'not a url' } })[0]!.path).toBe('elasticsearch.url');
  });

  it('fails without retries, naming what to do, for an unknown connection, another type, or a missing token', async () => {
    const cases: Array<[ConnectionResolver['resolve'], RegExp]> = [
      [async () => { throw new NotFoundError('connection', 'slack-home'); }, /no connection "slack-home" in hearth\.yaml \(add it under connections: with type: slack\)/],
      [async () => ({ def: { name: 'slack-home', type: 'gmail', settings: {} }, values: {} }), /connection "slack-home" is of type gmail, not slack/],
      [async () => ({ def: { name: 'slack-home', type: 'slack', settings: {} }, values: {} }), /has no token yet: paste one in Settings › Connections or run hearth connect slack-home/],
    ];
    for (const [resolve, message] of cases) {
      const failed = action(resolve).execute({ connection: 'slack-home' }, testActionContext());
      await expect(failed).rejects.toBeInstanceOf(NonRetriableError);
      await expect(failed).rejects.toThrow(message);
    }
  });
});
