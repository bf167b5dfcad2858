// A histogram of a stream of values whose range is not known in advance, in bounded memory.
// Bins are equal-width over [lo, lo + bins * width], a range that always includes 0 (quantized
// ranges must). When a batch falls outside, the range grows to an integer multiple of the old
// width, aligned on old bin edges, so old counts merge into new bins exactly.
// Exact zeros are counted apart: they are frequent (ReLU, padding) and int8 represents them
// exactly, so they must not look like a cloud of values near 0 to the error estimates.

export class StreamingHistogram {
  readonly counts: Float64Array;
  /** Left edge of bin 0. */
  lo = 0;
  /** Bin width; 0 until the first non-zero value arrives. */
  width = 0;
  zeros = 0;
  /** Count of every value seen, zeros included. */
  total = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly bins = 2048) {
    this.counts = new Float64Array(bins);
  }

  get hi(): number {
    return this.lo + this.bins * this.width;
  }

  /** Centre of bin i. */
  centre(i: number): number {
    return this.lo + (i + 0.5) * this.width;
  }

  /** Values must be finite (callers check, naming the tensor). */
  add(values: Float32Array): void {
    let min = Infinity;
    let max = -Infinity;
    let zeros = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === 0) zeros++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.total += values.length;
    this.zeros += zeros;
    if (values.length === 0) return;
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
    if (zeros === values.length) return;
    this.cover(Math.min(min, 0), Math.max(max, 0));
    const last = this.bins - 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === 0) continue;
      const bin = Math.floor((v - this.lo) / this.width);
      this.counts[bin < 0 ? 0 : bin > last ? last : bin]++;
    }
  }

  /** Grows the bins to span [min, max]. */
  private cover(min: number, max: number): void {
    if (this.width === 0) {
      this.lo = min;
      this.width = (max - min) / this.bins;
      return;
    }
    const shift = min < this.lo ? Math.ceil((this.lo - min) / this.width) : 0;
    const lo = this.lo - shift * this.width;
    // The first term alone guarantees (in integers) that every old bin lands inside the new ones.
    const factor = Math.max(Math.ceil((this.bins + shift) / this.bins), Math.ceil((Math.max(max, this.hi) - lo) / (this.bins * this.width)));
    if (shift === 0 && factor <= 1) return;
    const merged = new Float64Array(this.bins);
    for (let i = 0; i < this.bins; i++) merged[Math.floor((i + shift) / factor)] += this.counts[i];
    this.counts.set(merged);
    this.lo = lo;
    this.width *= factor;
  }
}
