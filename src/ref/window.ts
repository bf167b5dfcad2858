// Walks the output positions of a sliding window and gives, for each, the filter taps that land
// inside the input: the same taps TFLite's reference kernels accumulate (padding is skipped,
// never read).

import type { WindowGeometry } from '../lower/window.ts';

export interface WindowPosition {
  batch: number;
  /** Output pixel index ((batch * outHeight + y) * outWidth + x); times the channel count gives its offset. */
  pixel: number;
  /** Input row and column of filter tap (0, 0); may be negative inside the padding. */
  inY: number;
  inX: number;
  /** Filter taps [start, end) whose input row / column is inside the input. */
  kyStart: number;
  kyEnd: number;
  kxStart: number;
  kxEnd: number;
}

/** First tap k in [0, taps) with origin + k * step >= 0, and one past the last with origin + k * step < size. */
function tapRange(origin: number, step: number, taps: number, size: number): [number, number] {
  const start = origin >= 0 ? 0 : Math.ceil(-origin / step);
  const end = Math.min(taps, Math.ceil((size - origin) / step));
  return [Math.min(start, taps), Math.max(end, 0)];
}

/** Calls `visit` once per output pixel in NHW order. The position object is reused between calls. */
export function forEachWindow(g: WindowGeometry, visit: (w: WindowPosition) => void): void {
  const w: WindowPosition = { batch: 0, pixel: 0, inY: 0, inX: 0, kyStart: 0, kyEnd: 0, kxStart: 0, kxEnd: 0 };
  for (let b = 0; b < g.batches; b++) {
    w.batch = b;
    for (let oy = 0; oy < g.outHeight; oy++) {
      w.inY = oy * g.strideH - g.padTop;
      [w.kyStart, w.kyEnd] = tapRange(w.inY, g.dilationH, g.filterHeight, g.inHeight);
      for (let ox = 0; ox < g.outWidth; ox++) {
        w.inX = ox * g.strideW - g.padLeft;
        [w.kxStart, w.kxEnd] = tapRange(w.inX, g.dilationW, g.filterWidth, g.inWidth);
        w.pixel = (b * g.outHeight + oy) * g.outWidth + ox;
        visit(w);
      }
    }
  }
}
