import { describe, expect, it } from 'vitest';
import { LOG_CHUNK_BYTES, bufferLogReader, forEachLine, readRange, tailOffset } from './log-reader.js';

const reader = (text: string) => bufferLogReader(Buffer.from(text));

async function linesOf(text: string, start = 0): Promise<string[]> {
  const lines: string[] = [];
  await forEachLine(reader(text), (line) => void lines.push(line), start);
  return lines;
}

describe('tailOffset', () => {
  it('finds the start of the last N lines, with or without a final newline', async () => {
    expect(await tailOffset(reader('a\nb\nc\n'), 2)).toBe(2);
    expect(await tailOffset(reader('a\nb\nc'), 2)).toBe(2);
    expect(await tailOffset(reader('a\nb\nc\n'), 3)).toBe(0);
    expect(await tailOffset(reader('a\nb\nc\n'), 10)).toBe(0);
    expect(await tailOffset(reader(''), 1)).toBe(0);
  });

  it('reads backwards across chunk boundaries', async () => {
    const line = `${'x'.repeat(999)}\n`;
    const text = line.repeat(3 * (LOG_CHUNK_BYTES / 1000));
    const offset = await tailOffset(reader(text), 100);
    expect(offset).toBe(text.length - 100 * line.length);
  });
});

describe('forEachLine', () => {
  it('splits lines across chunks and keeps a final line without a newline', async () => {
    const long = 'y'.repeat(LOG_CHUNK_BYTES + 10);
    expect(await linesOf(`a\n${long}\nb`)).toEqual(['a', long, 'b']);
    expect(await linesOf('a\nb\n', 2)).toEqual(['b']);
  });

  it('never holds more than a megabyte of a line that does not end', async () => {
    const lengths: number[] = [];
    await forEachLine(reader('z'.repeat(3 * 1024 * 1024)), (line) => void lengths.push(line.length));
    expect(Math.max(...lengths)).toBeLessThanOrEqual(1024 * 1024 + LOG_CHUNK_BYTES);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(3 * 1024 * 1024);
  });

  it('readRange returns exactly the bytes asked for', async () => {
    expect((await readRange(reader('0123456789'), 3, 6)).toString()).toBe('345');
  });
});
