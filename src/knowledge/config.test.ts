import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { ConfigError } from '../core/errors.js';

// The `knowledge:` section of hearth.yaml: defaults, shorthands, and errors at their line.

function load(yaml: string, env: Record<string, string> = {}) {
  return parseConfigText(yaml, '/srv/hearth/hearth.yaml', { env: { HOME: '/home/pi', ...env } });
}

function problems(yaml: string): string[] {
  try {
    load(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.line}:${issue.col} ${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('knowledge config', () => {
  it('defaults to the hashing embedder when the section is absent', () => {
    expect(load('jobs: {}\n').knowledge).toEqual({ embedder: { type: 'hashing', dim: 256 } });
  });

  it('takes a type name as shorthand and fills in the local model defaults', () => {
    expect(load('dataDir: /var/lib/hearth\nknowledge:\n  embedder: local\n').knowledge).toEqual({
      embedder: { type: 'local', model: 'Xenova/all-MiniLM-L6-v2', modelDir: '/var/lib/hearth/models', dtype: 'q8', threads: 2 },
    });
    expect(load('knowledge:\n  embedder: { type: local, modelDir: ~/models, threads: "1" }\n').knowledge!.embedder).toMatchObject({ modelDir: '/home/pi/models', threads: 1 });
  });

  it('reads HTTP embedders with ${VAR} keys and durations', () => {
    const config = load('knowledge:\n  embedder:\n    type: openai\n    model: text-embedding-3-small\n    apiKey: ${OPENAI_API_KEY}\n    dim: 1536\n    timeout: 10s\n', { OPENAI_API_KEY: 'sk-x' });
    expect(config.knowledge!.embedder).toEqual({ type: 'openai', url: 'https://api.openai.com', model: 'text-embedding-3-small', apiKey: 'sk-x', dim: 1536, timeoutMs: 10_000, retries: 2 });
    expect(load('knowledge:\n  embedder: { type: ollama, model: nomic-embed-text }\n').knowledge!.embedder).toMatchObject({ url: 'http://127.0.0.1:11434', timeoutMs: 30_000 });
  });

  it('reports an unknown embedder type, missing and unknown fields at their lines', () => {
    expect(problems('knowledge:\n  embedder: bert\n')).toEqual([
      '2:3 knowledge.embedder.type: expected an embedder type (hashing, local, ollama, openai) or a mapping with type: one of them, got "bert"',
    ]);
    expect(problems('knowledge:\n  embedder:\n    type: ollama\n    url: ftp://x\n    modle: m\n')).toEqual([
      '2:3 knowledge.embedder.model: is required',
      '4:10 knowledge.embedder.url: must be an http:// or https:// URL',
      '5:5 knowledge.embedder.modle: unknown key "modle", did you mean "model"? (allowed: type, url, model, dim, apiKey, timeout, retries, queryPrefix, documentPrefix)',
    ]);
    expect(problems('knowledge:\n  embedder: { type: hashing, dim: 8 }\n  extra: 1\n')).toEqual([
      '2:35 knowledge.embedder.dim: must be at least 16',
      '3:3 knowledge.extra: unknown key "extra" (allowed: embedder)',
    ]);
  });
});
