import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenize } from './embedders/hashing.js';
import { fuseRankings, snippet } from './fusion.js';
import type { RankedRow } from './lance-index.js';

const row = (id: string, text: string, score = 0.1): RankedRow => ({ id, docId: `doc-${id}`, text, score });

describe('fuseRankings phrase ranking', () => {
  it('finds the phrase in ASCII and in accented or mixed-case texts alike, and not in texts missing a word', () => {
    const keyword = [
      row('a', 'the boiler and the pressure valve'), // every word, not as a phrase
      row('b', 'Le Café Boiler-Pressure reading'), // accents and case: folded by the tokenizer
      row('c', 'boiler pressure valve checked'),
      row('d', 'the boiler was serviced'), // lacks "pressure"
      row('e', 'BOILER   PRESSURE'),
    ];
    const fused = fuseRankings('Boiler pressure', { vector: [], keyword }, 10);
    const phrased = fused.filter((candidate) => candidate.matchedBy.includes('phrase')).map((candidate) => candidate.row.id);
    expect(phrased.sort()).toEqual(['b', 'c', 'e']);
    expect(fuseRankings('café boiler', { vector: [], keyword }, 10).find((candidate) => candidate.row.id === 'b')?.matchedBy).toContain('phrase');
  });
});

describe('snippet', () => {
  const filler = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

  it('centres on the query words in ASCII texts and in accented ones (folded like the tokenizer)', () => {
    const ascii = `${filler(60)} the boiler pressure dropped ${filler(60)}`;
    expect(snippet(ascii, 'Boiler pressure')).toMatch(/^….* boiler pressure dropped .*…$/);
    const accented = `${filler(60)} au Café Crème ce matin ${filler(60)}`;
    expect(snippet(accented, 'cafe creme')).toMatch(/^….* Café Crème ce matin .*…$/);
    expect(snippet(accented, 'cafe creme')).toBe(snippet(accented.replace('Café Crème', 'Cafe Creme'), 'cafe creme').replace('Cafe Creme', 'Café Crème'));
  });

  /** The snippet as it was defined before its ASCII fast path: every word of the text tokenized, the densest window of query words. */
  function referenceSnippet(text: string, query: string, size = 240): string {
    const flat = text.replace(/\s+/g, ' ').trim();
    if (flat.length <= size) return flat;
    const words = new Set(tokenize(query));
    const lower = flat.toLowerCase();
    const positions: number[] = [];
    for (const match of lower.matchAll(/[\p{L}\p{N}]+/gu)) if (words.has(tokenize(match[0])[0] ?? '')) positions.push(match.index);
    let bestStart = 0;
    let bestCount = 0;
    for (const start of positions) {
      const count = positions.filter((position) => position >= start && position < start + size * 0.8).length;
      if (count > bestCount) {
        bestCount = count;
        bestStart = start;
      }
    }
    let from = Math.max(0, bestStart - Math.floor(size * 0.2));
    if (from > 0) from = flat.indexOf(' ', from) + 1 || from;
    let to = Math.min(flat.length, from + size);
    if (to < flat.length) to = flat.lastIndexOf(' ', to) > from ? flat.lastIndexOf(' ', to) : to;
    return `${from > 0 ? '…' : ''}${flat.slice(from, to).trim()}${to < flat.length ? '…' : ''}`;
  }

  it('finds the same window as tokenizing every word of the text: whole words only, inside or at the ends of longer runs not', () => {
    // Query words that also occur inside longer runs (boilers, reboiler, boiler2, 2boiler), after punctuation and at the text's ends.
    const pieces = ['boiler', 'Boiler', 'BOILER', 'boilers', 'reboiler', 'boiler2', '2boiler', 'boiler_room', 'boiler-pressure', 'pressure', 'pressure.', '(pressure)', 'x9', 'x99', 'the', 'and', 'valve', 'a', '\n', '\t', '  '];
    const texts = fc.array(fc.constantFrom(...pieces), { minLength: 20, maxLength: 200 }).map((words) => words.join(' '));
    const queries = fc.constantFrom('boiler', 'boiler pressure', 'Pressure boiler x9', 'valve_x boiler', 'boiler boiler', 'naïve boiler', 'x99 the');
    fc.assert(
      fc.property(texts, queries, fc.integer({ min: 20, max: 300 }), (text, query, size) => {
        expect(snippet(text, query, size)).toBe(referenceSnippet(text, query, size));
      }),
      { numRuns: 2000, seed: 13 },
    );
  });
});
