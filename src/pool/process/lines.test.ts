import { describe, expect, it } from 'vitest';
import { createLineSplitter, LineTail, TRUNCATION_MARK } from './lines.js';

function collect(maxChars?: number) {
  const lines: string[] = [];
  const splitter = createLineSplitter((line) => lines.push(line), maxChars);
  return { lines, splitter };
}

describe('createLineSplitter', () => {
  it('joins partial chunks and splits on newlines', () => {
    const { lines, splitter } = collect();
    splitter.push('hel');
    splitter.push('lo\nwor');
    expect(lines).toEqual(['hello']);
    splitter.push('ld\n\nend');
    expect(lines).toEqual(['hello', 'world', '']);
    splitter.end();
    expect(lines).toEqual(['hello', 'world', '', 'end']);
  });

  it('treats CRLF as one break, even when the CR and LF arrive apart', () => {
    const { lines, splitter } = collect();
    splitter.push('a\r\nb\r');
    splitter.push('\nc\r');
    splitter.end();
    expect(lines).toEqual(['a', 'b', 'c']);
  });

  it('rejoins a UTF-8 character split across chunks', () => {
    const { lines, splitter } = collect();
    const bytes = Buffer.from('café ☕\n', 'utf8');
    for (const byte of bytes) splitter.push(Buffer.from([byte]));
    expect(lines).toEqual(['café ☕']);
  });

  it('cuts an over-long line once, marks it, and skips the rest of it', () => {
    const { lines, splitter } = collect(10);
    splitter.push('x'.repeat(7));
    splitter.push('y'.repeat(30));
    splitter.push('z'.repeat(5) + '\nshort\n');
    expect(lines).toEqual(['xxxxxxxyyy' + TRUNCATION_MARK, 'short']);
  });

  it('does not count the CR of a CRLF against the limit', () => {
    const { lines, splitter } = collect(4);
    splitter.push('abcd\r\n');
    expect(lines).toEqual(['abcd']);
  });

  it('emits nothing extra at end when output ended with a newline, and end is idempotent', () => {
    const { lines, splitter } = collect();
    splitter.push('one\n');
    splitter.end();
    splitter.end();
    splitter.push('ignored\n');
    expect(lines).toEqual(['one']);
  });
});

describe('LineTail', () => {
  it('keeps only the last lines', () => {
    const tail = new LineTail(2);
    for (const line of ['a', 'b', 'c']) tail.add(line);
    expect(tail.lines()).toEqual(['b', 'c']);
  });

  it('keeps nothing with size 0', () => {
    const tail = new LineTail(0);
    tail.add('a');
    expect(tail.lines()).toEqual([]);
  });
});
