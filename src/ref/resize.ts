// RESIZE_BILINEAR on the host, as TensorFlow Lite Micro computes it: int8 in 1/1024 steps with a
// 64-bit sum rounded half away from zero (ResizeBilinearInteger, the default double-rounding
// build), float32 with every product and sum rounded in the reference's order.

import type { Graph, ResizeOp } from '../ir/types.ts';
import { type ResizeBilinearParams, lowerResizeBilinear } from '../lower/resize.ts';
import type { Kernel } from './kernel.ts';

const f = Math.fround;

/** The four weighted input values of one output value, combined; a, b weights of rows low, high; c, d of columns. */
type Blend = (v00: number, v10: number, v01: number, v11: number, a: number, b: number, c: number, d: number) => number;

const blendInt8: Blend = (v00, v10, v01, v11, a, b, c, d) => {
  const sum = v00 * a * c + v10 * b * c + v01 * a * d + v11 * b * d;
  return Math.trunc((sum + (sum > 0 ? 1 << 19 : -(1 << 19))) / (1 << 20));
};

// TFLite adds a rounding offset of 0.0f for floats, which turns a -0 sum into +0.
const blendFloat: Blend = (v00, v10, v01, v11, a, b, c, d) =>
  f(f(f(f(f(f(v00 * a) * c) + f(f(v10 * b) * c)) + f(f(v01 * a) * d)) + f(f(v11 * b) * d)) + 0);

export function resizeBilinear<T extends Int8Array | Float32Array>(p: ResizeBilinearParams, input: T, out: T): T {
  const { rows, columns, channels: depth } = p;
  const blend = p.dtype === 'int8' ? blendInt8 : blendFloat;
  let o = 0;
  for (let n = 0; n < p.batches; n++) {
    for (let y = 0; y < rows.low.length; y++) {
      const [r0, r1] = [rows.low[y], rows.high[y]].map((r) => (n * p.inHeight + r) * p.inWidth);
      for (let x = 0; x < columns.low.length; x++) {
        const [c0, c1] = [columns.low[x], columns.high[x]];
        for (let ch = 0; ch < depth; ch++, o++) {
          const at = (r: number, c: number) => input[(r + c) * depth + ch];
          out[o] = blend(at(r0, c0), at(r1, c0), at(r0, c1), at(r1, c1), rows.weightLow[y], rows.weightHigh[y], columns.weightLow[x], columns.weightHigh[x]);
        }
      }
    }
  }
  return out;
}

export function prepareResizeBilinear(graph: Graph, op: ResizeOp): Kernel {
  const p = lowerResizeBilinear(graph, op);
  const size = p.batches * p.rows.low.length * p.columns.low.length * p.channels;
  return ([x]) => resizeBilinear(p, x as Int8Array | Float32Array, p.dtype === 'int8' ? new Int8Array(size) : new Float32Array(size));
}
