// An epoch's batches are made on demand (Session.batches), not held as one object per batch: the
// same batches as cutting 0..n into runs of `size` with a plain loop, the last one short.
import { expect, test } from 'vitest';
import { Batches } from '../src/train/session.js';

test('Batches gives the batches of a plain loop, in order, and refuses an index past them', () => {
  for (const [n, size] of [
    [1, 1],
    [10, 3],
    [12, 4],
    [7, 100],
    [1_000_003, 64],
  ]) {
    const want: { index: number; start: number; size: number }[] = [];
    for (let start = 0, index = 0; start < n; start += size, index++) want.push({ index, start, size: Math.min(size, n - start) });
    const b = new Batches(n, size);
    expect(b.length).toBe(want.length);
    expect([...b]).toEqual(want);
    expect(b.at(want.length - 1)).toEqual(want[want.length - 1]);
    expect(() => b.at(want.length)).toThrow(RangeError);
    expect(() => b.at(-1)).toThrow(RangeError);
  }
});
