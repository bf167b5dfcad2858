// Range observers: each watches the values one activation tensor takes over the calibration
// batches and proposes the real range its int8 quantization should cover.
//   minmax      every value seen; one outlier stretches the scale for all the others.
//   percentile  clips the rarest values at both ends (read off a histogram, so memory is bounded).
//   mse         the clipping range that minimises the expected squared error of int8
//               quantization of the observed distribution (rounding inside, clipping outside).
// Every proposed range includes 0 and is never degenerate (see nudgeRange).

import { usageError } from '../ir/errors.ts';
import { StreamingHistogram } from './histogram.ts';
import { type Range, nudgeRange } from './range.ts';

export type ObserverKind = 'minmax' | 'percentile' | 'mse';

export interface ObserverOptions {
  kind: ObserverKind;
  /** percentile: the share of values (in percent) kept inside the range; default 99.99. */
  percentile?: number;
  /** percentile and mse: histogram bins; default 2048. */
  bins?: number;
}

export interface Observer {
  /** One batch of values of the tensor; they must be finite. */
  observe(values: Float32Array): void;
  range(): Range;
}

export function createObserver(options: ObserverOptions): Observer {
  const bins = options.bins ?? 2048;
  if (!Number.isInteger(bins) || bins < 16) throw usageError(`histogram bins must be an integer of at least 16, got ${bins}`);
  switch (options.kind) {
    case 'minmax':
      return new MinMaxObserver();
    case 'percentile':
      return new PercentileObserver(options.percentile ?? 99.99, bins);
    case 'mse':
      return new MseObserver(bins);
  }
}

const nudged = (range: Range) => nudgeRange(range, 'observed range');

export class MinMaxObserver implements Observer {
  private min = 0;
  private max = 0;

  observe(values: Float32Array): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
  }

  range(): Range {
    return nudged([this.min, this.max]);
  }
}

abstract class HistogramObserver implements Observer {
  protected readonly histogram: StreamingHistogram;

  constructor(bins: number) {
    this.histogram = new StreamingHistogram(bins);
  }

  observe(values: Float32Array): void {
    this.histogram.add(values);
  }

  range(): Range {
    const h = this.histogram;
    if (h.width === 0) return nudged([0, 0]); // nothing but zeros (or nothing) seen
    const [lo, hi] = this.clip();
    // Bin edges can lie beyond the values; the range need not. Clips are around 0 by construction.
    return nudged([Math.min(0, Math.max(lo, h.min)), Math.max(0, Math.min(hi, h.max))]);
  }

  protected abstract clip(): Range;
}

export class PercentileObserver extends HistogramObserver {
  constructor(
    readonly percentile: number,
    bins: number,
  ) {
    super(bins);
    if (!(percentile > 50 && percentile <= 100)) throw usageError(`the percentile must be above 50 and at most 100, got ${percentile}`);
  }

  protected clip(): Range {
    const tail = (100 - this.percentile) / 100;
    return [this.quantile(tail, 'low'), this.quantile(1 - tail, 'high')];
  }

  /**
   * The value below which a share q of all values lie, to one bin: the outer edge of the bin that
   * holds it (so a value repeated many times, a constant, is never clipped). Zeros sit at 0.
   */
  private quantile(q: number, side: 'low' | 'high'): number {
    const h = this.histogram;
    const target = q * h.total;
    let seen = 0;
    let zerosPlaced = false;
    for (let i = 0; i < h.bins; i++) {
      const left = h.lo + i * h.width;
      if (!zerosPlaced && left + h.width > 0) {
        zerosPlaced = true;
        seen += h.zeros;
        if (seen >= target) return 0;
      }
      seen += h.counts[i];
      if (h.counts[i] > 0 && seen >= target) return side === 'low' ? left : left + h.width;
    }
    return h.hi;
  }
}

export class MseObserver extends HistogramObserver {
  /**
   * Searches every pair of bin edges [a, b] around 0. With step d = (b - a) / 255 the expected
   * error is: values inside round with error uniform in +-d/2 (variance d^2/12 each), values
   * outside are clipped to the nearer end (error measured from their bin centre). Prefix sums
   * make each candidate O(1).
   */
  protected clip(): Range {
    const h = this.histogram;
    const n = h.bins;
    const count = new Float64Array(n + 1);
    const first = new Float64Array(n + 1);
    const second = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const c = h.counts[i];
      const x = h.centre(i);
      count[i + 1] = count[i] + c;
      first[i + 1] = first[i] + c * x;
      second[i + 1] = second[i] + c * x * x;
    }
    // Sum over bins [from, to) of count * (x - edge)^2.
    const clipped = (from: number, to: number, edge: number) =>
      second[to] - second[from] - 2 * edge * (first[to] - first[from]) + edge * edge * (count[to] - count[from]);
    const edge = (k: number) => h.lo + k * h.width;
    const zero = -h.lo / h.width;
    const lastLow = Math.min(n, Math.floor(zero));
    const firstHigh = Math.max(0, Math.ceil(zero));
    let best = Infinity;
    let bestRange: Range = [h.min, h.max];
    for (let a = 0; a <= lastLow; a++) {
      const low = clipped(0, a, edge(a));
      for (let b = Math.max(firstHigh, a + 1); b <= n; b++) {
        const step = (edge(b) - edge(a)) / 255;
        const error = low + ((count[b] - count[a]) * step * step) / 12 + clipped(b, n, edge(b));
        if (error < best) {
          best = error;
          bestRange = [edge(a), edge(b)];
        }
      }
    }
    return bestRange;
  }
}
