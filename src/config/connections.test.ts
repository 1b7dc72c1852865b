import { describe, expect, it } from 'vitest';
import { loadText, problemsOf, yamlLines } from './testing.js';

/** The top-level `connections:` map (DESIGN.md, "Accounts, models, notifications, store"). */
describe('connections', () => {
  it('keeps each connection with its type and the settings the file gave', () => {
    const config = loadText(
      yamlLines(
        'connections:',
        '  slack-home: { type: slack, apiUrl: "http://127.0.0.1:9/api/" }',
        '  gmail-me:',
        '    type: gmail',
        '    clientId: abc.apps.googleusercontent.com',
      ),
    );
    expect(config.connections).toEqual({
      'slack-home': { name: 'slack-home', type: 'slack', settings: { apiUrl: 'http://127.0.0.1:9/api/' } },
      'gmail-me': { name: 'gmail-me', type: 'gmail', settings: { clientId: 'abc.apps.googleusercontent.com' } },
    });
  });

  it('reports a missing or unknown type and settings the type does not take, at their lines', () => {
    expect(problemsOf(yamlLines('connections:', '  a: { apiUrl: x }'))).toEqual([
      'hearth.yaml:2:3: connections.a: needs type: one of slack, gmail',
    ]);
    expect(problemsOf(yamlLines('connections:', '  a: { type: slak }'))).toEqual([
      'hearth.yaml:2:14: connections.a.type: unknown connection type "slak", did you mean "slack"? (types: slack, gmail)',
    ]);
    expect(problemsOf(yamlLines('connections:', '  a: { type: slack, clientId: x }'))).toEqual([
      'hearth.yaml:2:21: connections.a.clientId: unknown key "clientId" (allowed: token, apiUrl)',
    ]);
  });
});
