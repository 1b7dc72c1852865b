import { describe, expect, it } from 'vitest';
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
});
