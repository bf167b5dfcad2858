import test from 'ava';
import { random } from './helpers/op-graphs.ts';
import { readFileSync } from 'node:fs';
import {
  INT32_MAX,
  INT32_MIN,
  frexp,
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  roundHalfAwayFromZero,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../src/lower/fixedpoint.ts';
import { EdgecError } from '../src/ir/errors.ts';
import {
  expOnNegativeValues,
  logistic,
  oneMinusXOverOnePlusXForXIn01,
  oneOverOnePlusXForXIn01,
  tanh,
} from '../src/lower/fixedpoint-math.ts';

// Reference formulations on BigInt, written from the definitions rather than from the fast code.

function srdhmRef(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, as C does
}

function rdbpRef(x: number, exponent: number): number {
  const d = 1n << BigInt(exponent);
  const bx = BigInt(x);
  const mag = bx < 0n ? -bx : bx;
  const q = mag / d;
  const rounded = 2n * (mag - q * d) >= d ? q + 1n : q;
  return Number(bx < 0n ? -rounded : rounded);
}

function mbqmRef(x: number, multiplier: number, shift: number): number {
  const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(Math.max(shift, 0))));
  return rdbpRef(srdhmRef(shifted, multiplier), Math.max(-shift, 0));
}

// Seeded, so a failure can be replayed: whole int32 values from the tests' shared generator.
function rng(seed: number): () => number {
  const next = random(seed);
  return () => (next() * 4294967296) | 0;
}

const EDGES: number[] = (() => {
  const set = new Set<number>([0, 1, -1, 2, -2, 3, -3, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1]);
  for (let k = 0; k < 31; k++) {
    const p = 2 ** k;
    for (const v of [p, -p, p - 1, -(p - 1), p + 1, -(p + 1)]) set.add(v);
  }
  set.add(-(2 ** 31));
  return [...set].filter((v) => v >= INT32_MIN && v <= INT32_MAX);
})();

/** A mix of full-range values and small-magnitude ones (the interesting range for ties). */
function sample(next: () => number): number {
  const r = next();
  switch (r & 3) {
    case 0:
      return next();
    case 1:
      return next() >> (next() & 31);
    case 2:
      return EDGES[(next() >>> 0) % EDGES.length];
    default:
      return (next() >> 16) << (next() & 15); // many exact ties after a right shift
  }
}

test('saturatingRoundingDoublingHighMul matches the 64-bit definition on edges and 2M random pairs', (t) => {
  let checked = 0;
  for (const a of EDGES) {
    for (const b of EDGES) {
      const got = saturatingRoundingDoublingHighMul(a, b);
      const want = srdhmRef(a, b);
      if (got !== want) t.fail(`srdhm(${a}, ${b}) = ${got}, want ${want}`);
      checked++;
    }
  }
  const next = rng(1);
  for (let i = 0; i < 2_000_000; i++) {
    const a = sample(next);
    const b = sample(next);
    const got = saturatingRoundingDoublingHighMul(a, b);
    const want = srdhmRef(a, b);
    if (got !== want) {
      t.fail(`srdhm(${a}, ${b}) = ${got}, want ${want}`);
      return;
    }
    checked++;
  }
  t.true(checked > 2_000_000);
});

test('saturatingRoundingDoublingHighMul: saturation and rounding ties', (t) => {
  t.is(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN), INT32_MAX);
  t.is(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MAX), -INT32_MAX);
  t.is(saturatingRoundingDoublingHighMul(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  // 1 * 2^30 = 2^30 is exactly half of 2^31: positive ties go up, negative ties toward zero.
  t.is(saturatingRoundingDoublingHighMul(1, 1 << 30), 1);
  t.is(saturatingRoundingDoublingHighMul(-1, 1 << 30), 0);
  t.is(saturatingRoundingDoublingHighMul(3, 1 << 30), 2);
  t.is(saturatingRoundingDoublingHighMul(-3, 1 << 30), -1);
});

test('roundingDivideByPOT matches round-half-away-from-zero division for every exponent', (t) => {
  const next = rng(2);
  for (let exponent = 0; exponent <= 31; exponent++) {
    for (const x of EDGES) {
      const got = roundingDivideByPOT(x, exponent);
      const want = rdbpRef(x, exponent);
      if (got !== want) t.fail(`rdbp(${x}, ${exponent}) = ${got}, want ${want}`);
    }
    for (let i = 0; i < 30_000; i++) {
      const x = sample(next);
      const got = roundingDivideByPOT(x, exponent);
      const want = rdbpRef(x, exponent);
      if (got !== want) {
        t.fail(`rdbp(${x}, ${exponent}) = ${got}, want ${want}`);
        return;
      }
    }
  }
  t.is(roundingDivideByPOT(5, 1), 3);
  t.is(roundingDivideByPOT(-5, 1), -3);
  t.is(roundingDivideByPOT(-6, 2), -2);
  t.is(roundingDivideByPOT(INT32_MIN, 31), -1);
  t.is(roundingDivideByPOT(INT32_MAX, 31), 1);
});

test('multiplyByQuantizedMultiplier matches the double-rounding definition, including wrapping left shifts', (t) => {
  const next = rng(3);
  for (let i = 0; i < 1_000_000; i++) {
    const x = sample(next);
    const multiplier = (next() >>> 1) | 0x40000000; // normalised Q0.31 multipliers, as quantizeMultiplier makes
    const shift = ((next() >>> 0) % 63) - 31;
    const got = multiplyByQuantizedMultiplier(x, multiplier, shift);
    const want = mbqmRef(x, multiplier, shift);
    if (got !== want) {
      t.fail(`mbqm(${x}, ${multiplier}, ${shift}) = ${got}, want ${want}`);
      return;
    }
  }
  // Double rounding differs from a single exact rounding here: 7 * 0.75 = 5.25 in two steps.
  t.is(multiplyByQuantizedMultiplier(7, 1610612736, 0), 5);
  // 2^20 * 0.5 / 2^20 = 0.5 is a tie in the final shift and rounds away from zero.
  t.is(multiplyByQuantizedMultiplier(1 << 20, 1 << 30, -20), 1);
  t.is(multiplyByQuantizedMultiplier(-3, 1 << 30, 0), -1);
  t.is(multiplyByQuantizedMultiplier(100, 1 << 30, 3), 400);
});

test('roundHalfAwayFromZero is C round()', (t) => {
  t.is(roundHalfAwayFromZero(2.5), 3);
  t.is(roundHalfAwayFromZero(-2.5), -3);
  t.is(roundHalfAwayFromZero(0.49999999999999994), 0);
  t.is(roundHalfAwayFromZero(-0.5), -1);
  t.is(roundHalfAwayFromZero(1.4), 1);
  t.is(roundHalfAwayFromZero(-1.6), -2);
  t.is(roundHalfAwayFromZero(2 ** 52 + 1), 2 ** 52 + 1);
});

test('frexp splits normal and subnormal doubles', (t) => {
  t.deepEqual(frexp(1), { fraction: 0.5, exponent: 1 });
  t.deepEqual(frexp(-3), { fraction: -0.75, exponent: 2 });
  t.deepEqual(frexp(5e-324), { fraction: 0.5, exponent: -1073 });
  t.deepEqual(frexp(Number.MAX_VALUE), { fraction: 1 - 2 ** -53, exponent: 1024 });
});

test('quantizeMultiplier follows TFLite QuantizeMultiplier, including its edge rules', (t) => {
  t.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
  t.deepEqual(quantizeMultiplier(1), { multiplier: 1 << 30, shift: 1 });
  t.deepEqual(quantizeMultiplier(0.5), { multiplier: 1 << 30, shift: 0 });
  t.deepEqual(quantizeMultiplier(0.75), { multiplier: 1610612736, shift: 0 });
  t.deepEqual(quantizeMultiplier(-0.75), { multiplier: -1610612736, shift: 0 });
  // Rounds up to 2^31: renormalised to 2^30 with one more left shift.
  t.deepEqual(quantizeMultiplier(1 - 2 ** -33), { multiplier: 1 << 30, shift: 1 });
  // An exact tie rounds away from zero.
  t.deepEqual(quantizeMultiplier(0.5 + 2 ** -32), { multiplier: (1 << 30) + 1, shift: 0 });
  t.deepEqual(quantizeMultiplier(-(0.5 + 2 ** -32)), { multiplier: -((1 << 30) + 1), shift: 0 });
  // Smallest kept value and the flush to zero below it.
  t.deepEqual(quantizeMultiplier(2 ** -32), { multiplier: 1 << 30, shift: -31 });
  t.deepEqual(quantizeMultiplier(2 ** -33), { multiplier: 0, shift: 0 });
  t.deepEqual(quantizeMultiplier(5e-324), { multiplier: 0, shift: 0 });
  t.deepEqual(quantizeMultiplier(2 ** 40), { multiplier: 1 << 30, shift: 41 });
  const err = t.throws(() => quantizeMultiplier(Number.NaN), { instanceOf: EdgecError });
  t.regex(err?.message ?? '', /not a finite number/);
  t.throws(() => quantizeMultiplier(Infinity), { instanceOf: EdgecError });
});

test('quantizeMultiplier reconstructs the real value to within half a Q0.31 step', (t) => {
  const next = rng(4);
  for (let i = 0; i < 100_000; i++) {
    const real = ((next() >>> 0) / 2 ** 32 + 2 ** -40) * 2 ** ((next() % 20) - 5);
    const { multiplier, shift } = quantizeMultiplier(real);
    if (multiplier === 0) continue;
    t.true(multiplier >= 2 ** 30 && multiplier <= INT32_MAX, `multiplier ${multiplier} for ${real}`);
    const back = multiplier * 2 ** (shift - 31);
    if (Math.abs(back - real) > 2 ** (shift - 32)) {
      t.fail(`quantizeMultiplier(${real}) = ${multiplier}, ${shift}`);
      return;
    }
  }
  t.pass();
});

// Goldens computed by TFLite Micro's QuantizeMultiplier and gemmlowp's fixed-point functions
// (see fixtures/kernels/README.md).
interface FixedPointGoldens {
  quantizeMultiplier: [string, number, number][];
  expOnNegativeValues0: [number, number][];
  expOnNegativeValues5: [number, number][];
  expOnNegativeValues8: [number, number][];
  logistic4: [number, number][];
  tanh4: [number, number][];
  oneOverOnePlusX: [number, number][];
  oneMinusXOverOnePlusX: [number, number][];
}
const goldens = JSON.parse(
  readFileSync(new URL('./fixtures/kernels/elementwise-fixedpoint.json', import.meta.url), 'utf8'),
) as FixedPointGoldens;

const doubleFromHex = (hex: string) => new Float64Array(new BigUint64Array([BigInt(`0x${hex}`)]).buffer)[0];

test('quantizeMultiplier agrees with TFLite Micro on reals over 80 binary decades', (t) => {
  t.true(goldens.quantizeMultiplier.length > 500);
  for (const [hex, multiplier, shift] of goldens.quantizeMultiplier) {
    const real = doubleFromHex(hex);
    t.deepEqual(quantizeMultiplier(real), { multiplier, shift }, `quantizeMultiplier(${real})`);
  }
});

const functions: [keyof FixedPointGoldens, (x: number) => number][] = [
  ['expOnNegativeValues0', (x) => expOnNegativeValues(x, 0)],
  ['expOnNegativeValues5', (x) => expOnNegativeValues(x, 5)],
  ['expOnNegativeValues8', (x) => expOnNegativeValues(x, 8)],
  ['logistic4', (x) => logistic(x, 4)],
  ['tanh4', (x) => tanh(x, 4)],
  ['oneOverOnePlusX', oneOverOnePlusXForXIn01],
  ['oneMinusXOverOnePlusX', oneMinusXOverOnePlusXForXIn01],
];
for (const [name, f] of functions) {
  test(`gemmlowp ${name} agrees with the C++ template bit for bit`, (t) => {
    const table = goldens[name] as [number, number][];
    t.true(table.length >= 300);
    for (const [x, want] of table) if (f(x) !== want) t.fail(`${name}(${x}) = ${f(x)}, want ${want}`);
    t.pass();
  });
}
