// Range observers: what each proposes for a distribution, streamed in batches.

import test from 'ava';
import { EdgecError } from '../src/ir/errors.ts';
import { StreamingHistogram } from '../src/quant/histogram.ts';
import { createObserver, type ObserverKind } from '../src/quant/observers.ts';
import { affineFromRange, dequantizeValues, quantizeValues } from '../src/quant/params.ts';
import { MIN_SCALE, type Range, nudgeRange } from '../src/quant/range.ts';
import { random } from './helpers/random.ts';


function gaussian(count: number, seed: number, mean = 0, std = 1): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: count }, () => mean + std * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
}

/** Observes `values` in batches of `batch` and returns the proposed range. */
function observe(kind: ObserverKind, values: Float32Array, batch = 4096, options: { percentile?: number } = {}): Range {
  const observer = createObserver({ kind, ...options });
  for (let i = 0; i < values.length; i += batch) observer.observe(values.subarray(i, i + batch));
  return observer.range();
}

/** Mean squared error of int8 quantization of `values` with the parameters `range` gives. */
function quantizationMse(values: Float32Array, range: Range): number {
  const { scale, zeroPoint } = affineFromRange(range, 'test');
  let sum = 0;
  for (const v of values) {
    const q = Math.min(127, Math.max(-128, Math.round(v / scale) + zeroPoint));
    sum += (v - scale * (q - zeroPoint)) ** 2;
  }
  return sum / values.length;
}

/**
 * Two million values from N(0, 1) and two far outliers. Clipping them costs less squared error
 * than the coarse steps stretching the range over them would cost every other value.
 */
function withOutliers(): Float32Array {
  const values = gaussian(2_000_000, 1);
  values[500] = 200;
  values[70_000] = -150;
  return values;
}

test('minmax covers every value seen over all batches', (t) => {
  const values = gaussian(10_000, 2, 1, 3);
  const [lo, hi] = observe('minmax', values, 333);
  t.is(lo, Math.min(...values));
  t.is(hi, Math.max(...values));
});

test('percentile and mse clip far outliers that stretch minmax', (t) => {
  const values = withOutliers();
  const minmax = observe('minmax', values, 65536);
  t.deepEqual(minmax, [-150, 200]);
  for (const kind of ['percentile', 'mse'] as const) {
    const [lo, hi] = observe(kind, values, 65536);
    // MSE clips the lone outliers partway: cutting them to the bulk would cost more than the steps it saves.
    t.true(hi > 3 && hi < 100, `${kind} upper end ${hi}`);
    t.true(lo < -3 && lo > -75, `${kind} lower end ${lo}`);
    t.true(quantizationMse(values, [lo, hi]) < quantizationMse(values, minmax) / 3, `${kind}: [${lo}, ${hi}] ${quantizationMse(values, [lo, hi])} vs ${quantizationMse(values, minmax)}`);
  }
});

test('on a heavy-tailed (Laplace) distribution mse clips the tails, within 2% of the best clip', (t) => {
  const rand = random(9);
  const values = Float32Array.from({ length: 200_000 }, () => (rand() < 0.5 ? -1 : 1) * -Math.log(1 - rand()));
  const [lo, hi] = observe('mse', values);
  const minmax = observe('minmax', values);
  t.true(hi < minmax[1] * 0.95 && lo > minmax[0] * 0.95, `[${lo}, ${hi}] inside [${minmax}]`);
  let best = Infinity;
  for (let c = 4; c <= 14; c += 0.1) best = Math.min(best, quantizationMse(values, [-c, c]));
  const chosen = quantizationMse(values, [lo, hi]);
  t.true(chosen < best * 1.02, `mse range error ${chosen}, best clip ${best}`);
  t.true(chosen < quantizationMse(values, minmax));
});

test('on a uniform distribution without outliers, clipping observers keep nearly the whole range', (t) => {
  const rand = random(3);
  const values = Float32Array.from({ length: 50_000 }, () => rand() * 6 - 2);
  for (const kind of ['percentile', 'mse'] as const) {
    const [lo, hi] = observe(kind, values);
    t.true(lo < -1.9 && hi > 3.85, `${kind}: [${lo}, ${hi}]`);
  }
});

test('percentile 100 is the whole range; lower percentiles clip more', (t) => {
  const values = gaussian(20_000, 4);
  const all = observe('percentile', values, 1000, { percentile: 100 });
  const minmax = observe('minmax', values);
  t.true(Math.abs(all[0] - minmax[0]) < 1e-9 && Math.abs(all[1] - minmax[1]) < 1e-9);
  const p99 = observe('percentile', values, 1000, { percentile: 99 });
  // 0.5% of N(0, 1) lies beyond 2.576 (the tails are clipped at 1% each, so near 2.33).
  t.true(p99[1] > 2.2 && p99[1] < 2.45, `${p99}`);
  t.true(p99[0] < -2.2 && p99[0] > -2.45, `${p99}`);
});

test('every range includes zero: all-negative activations end at 0, all-positive start at 0', (t) => {
  const negative = gaussian(5000, 5, -10, 1);
  const positive = gaussian(5000, 6, 10, 1);
  for (const kind of ['minmax', 'percentile', 'mse'] as const) {
    const [lo, hi] = observe(kind, negative);
    t.is(hi, 0, kind);
    t.true(lo < -12, kind);
    const [plo] = observe(kind, positive);
    t.is(plo, 0, kind);
  }
  // All-negative activations put the zero point at the top of the int8 range.
  t.is(affineFromRange(observe('minmax', negative), 'test').zeroPoint, 127);
});

test('all zeros, nothing at all, and constants give valid non-degenerate ranges', (t) => {
  for (const kind of ['minmax', 'percentile', 'mse'] as const) {
    t.deepEqual(observe(kind, new Float32Array(1000)), [0, 255 * MIN_SCALE], kind);
    t.deepEqual(createObserver({ kind }).range(), [0, 255 * MIN_SCALE], kind);
    // Within half an int8 step: the histogram observers resolve a range to one bin of 2048.
    const [lo, hi] = observe(kind, new Float32Array(100).fill(5));
    t.true(lo === 0 && Math.abs(hi - 5) < 5 / 510, `${kind}: [${lo}, ${hi}]`);
    const [nlo, nhi] = observe(kind, new Float32Array(100).fill(-3));
    t.true(nhi === 0 && Math.abs(nlo + 3) < 3 / 510, `${kind}: [${nlo}, ${nhi}]`);
  }
  // A tiny negative range widens downwards, keeping its values representable.
  t.deepEqual(nudgeRange([-1e-12, 0], 'x'), [-255 * MIN_SCALE, 0]);
  t.throws(() => nudgeRange([NaN, 1], 'layer x'), { instanceOf: EdgecError, message: /layer x/ });
});

test('a constant stays exactly representable after quantization', (t) => {
  for (const c of [5, -3, 0.1]) {
    const range = observe('minmax', new Float32Array(10).fill(c));
    const affine = affineFromRange(range, 'test');
    const back = dequantizeValues(quantizeValues(Float32Array.of(c, 0), affine), affine);
    t.true(Math.abs(back[0] - c) < 1e-6 * Math.abs(c), `${c} -> ${back[0]}`);
    t.is(back[1], 0);
  }
});

test('the streaming histogram keeps every count while its range grows batch by batch', (t) => {
  const h = new StreamingHistogram(64);
  const batches = [Float32Array.of(0.1, 0.2, 0, 0), Float32Array.of(-3, 5), Float32Array.of(100, -0.5), Float32Array.of(-1e4)];
  for (const batch of batches) h.add(batch);
  t.is(h.total, 9);
  t.is(h.zeros, 2);
  t.is(h.counts.reduce((a, b) => a + b, 0), 7);
  t.true(h.lo <= -1e4 && h.hi >= 100);
  t.deepEqual([h.min, h.max], [-1e4, 100]);
  // The largest value is in the last non-empty bin and the smallest in the first.
  const filled = [...h.counts.keys()].filter((i) => h.counts[i] > 0);
  t.true(h.lo + filled[0] * h.width <= -1e4);
  t.true(h.lo + (filled[filled.length - 1] + 1) * h.width >= 100);
});

test('bad observer options are usage errors', (t) => {
  t.throws(() => createObserver({ kind: 'percentile', percentile: 40 }), { instanceOf: EdgecError, message: /percentile/ });
  t.throws(() => createObserver({ kind: 'mse', bins: 3 }), { instanceOf: EdgecError, message: /bins/ });
});
