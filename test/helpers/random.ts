// The tests' one seeded generator, src's own (mulberry32): a failing case replays from its seed,
// which Math.random cannot give.

export { seededRandom as random } from '../../src/float/train.ts';

/** A whole number in [0, n) from a generator of [0, 1). */
export function randomBelow(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}
