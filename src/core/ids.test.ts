import { describe, expect, it } from 'vitest';
import { isRunId, newRunId, RunIdGenerator } from './ids.js';

describe('RunIdGenerator', () => {
  it('makes ids that sort by creation, in order within a millisecond, with 4 random hex chars', () => {
    const ids = new RunIdGenerator();
    const made = [ids.next(1_000), ids.next(1_000), ids.next(1_000), ids.next(1_001), ids.next(2_000_000_000_000)];
    for (const id of made) expect(isRunId(id)).toBe(true);
    expect([...made].sort()).toEqual(made);
    expect(made[1]!.slice(0, 16)).toBe(`r_${(1_000).toString(36).padStart(10, '0')}0001`);
    expect(isRunId(newRunId(Date.now()))).toBe(true);
  });

  it('takes its random part from the system RNG once per 256 ids, two bytes an id, in order', () => {
    let fills = 0;
    const ids = new RunIdGenerator((buffer) => {
      fills++;
      for (let i = 0; i < buffer.length; i++) buffer[i] = (i + fills) & 0xff;
    });
    const made = Array.from({ length: 600 }, (_, i) => ids.next(i));
    expect(fills).toBe(3);
    expect(made.slice(0, 2).map((id) => id.slice(-4))).toEqual(['0102', '0304']);
    expect(made[256]!.slice(-4)).toBe('0203');
    expect(new Set(made).size).toBe(600);
  });
});
