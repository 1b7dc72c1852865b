import type { SearchHit, SearchResponse } from '../../knowledge/types.js';
import { timeTag } from './format.js';
import { html, type Html } from './html.js';

/**
 * The Search page's renderer: the form (plain GET, so it works without
 * script and the URL can be bookmarked) and whatever the search produced.
 * The route (routes.ts) parses the fields with the same parser as
 * `GET /api/search` and `hearth search`.
 */

/** The fields as typed, echoed back into the form. */
export interface SearchFields {
  q: string;
  source: string;
  since: string;
  until: string;
}

export type SearchOutcome =
  | { kind: 'unavailable' }
  | { kind: 'prompt' }
  | { kind: 'invalid'; message: string }
  | { kind: 'results'; response: SearchResponse };

export function searchFieldsFrom(query: (name: string) => string[] | undefined): SearchFields {
  const joined = (name: string) => (query(name) ?? []).join(name === 'source' ? ',' : ' ');
  return { q: joined('q'), source: joined('source'), since: query('since')?.at(-1) ?? '', until: query('until')?.at(-1) ?? '' };
}

export function searchBody(timeZone: string, fields: SearchFields, outcome: SearchOutcome): Html {
  if (outcome.kind === 'unavailable') {
    return html`<h1>Search</h1><p class="empty">No knowledge store is wired into this appliance, so there is nothing to search. Add a knowledge ingest job to hearth.yaml; see the README's knowledge section.</p>`;
  }
  return html`<h1>Search</h1>
${searchForm(fields)}
${outcome.kind === 'prompt' && html`<p class="empty">Type some words to search the knowledge store.</p>`}
${outcome.kind === 'invalid' && html`<p class="note error" role="alert">${outcome.message}</p>`}
${outcome.kind === 'results' && results(timeZone, outcome.response)}`;
}

function searchForm(fields: SearchFields): Html {
  return html`<form method="get" action="/search" class="card search-form" role="search">
<label for="search-q">Words</label>
<input id="search-q" type="search" name="q" value="${fields.q}" maxlength="1000" autocomplete="off" enterkeyhint="search">
<details${fields.source || fields.since || fields.until ? html` open` : ''}><summary>Filters</summary>
<label for="search-source">Sources <span class="muted small">(comma-separated)</span></label>
<input id="search-source" name="source" value="${fields.source}" autocomplete="off">
<label for="search-since">Since <span class="muted small">(2024-11-01, or an age: 30d)</span></label>
<input id="search-since" name="since" value="${fields.since}" autocomplete="off">
<label for="search-until">Until <span class="muted small">(exclusive)</span></label>
<input id="search-until" name="until" value="${fields.until}" autocomplete="off">
</details>
<button type="submit" class="btn primary">Search</button>
</form>`;
}

function results(timeZone: string, response: SearchResponse): Html {
  const count = response.hits.length;
  return html`<section aria-labelledby="results-h"><h2 id="results-h">${count === 0 ? 'No results' : `${count} ${count === 1 ? 'result' : 'results'}`}</h2>
<p class="muted small">Took ${formatMs(response.tookMs)} · ${response.mode} search over ${response.totalChunks} ${response.totalChunks === 1 ? 'chunk' : 'chunks'}</p>
${response.note && html`<p class="note warn">${response.note}</p>`}
${count === 0
    ? html`<p class="empty">Nothing matched “${response.query}”. Try fewer or other words, or widen the filters.</p>`
    : html`<ol class="list hits">${response.hits.map((hit) => hitItem(timeZone, hit))}</ol>`}
</section>`;
}

function hitItem(timeZone: string, hit: SearchHit): Html {
  const href = safeLink(hit.url);
  return html`<li class="card hit">
<h3>${href ? html`<a href="${href}" rel="noopener noreferrer">${hit.title || hit.url}</a>` : hit.title || html`<span class="muted">untitled</span>`}</h3>
<p class="muted small"><span class="source">${hit.source}</span> · ${timeTag(hit.timestamp, timeZone)}${hit.author && html` · ${hit.author}`}</p>
<p class="snippet">${hit.snippet}</p>
<p class="muted small">score <span class="score">${hit.score.toFixed(3)}</span> · ${hit.matchedBy.join(' + ')}</p>
</li>`;
}

/** Escaping stops markup, not `javascript:` URLs: only web links become links. */
export function safeLink(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
