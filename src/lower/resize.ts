// RESIZE_BILINEAR's tables, as TensorFlow Lite Micro's kernel computes them for every output row
// and column: the two input rows (columns) it interpolates between and their weights, in int8
// (ResizeBilinearInteger: positions in 1/1024 steps) or float32 (ResizeBilinear). The reference,
// the C tables and nothing else compute them.

import type { Graph, ResizeOp } from '../ir/types.ts';
import { type MoveDtype, movedDtype } from './move.ts';
import { OpOperands } from './operands.ts';

/** Per output row (or column): input rows low and high, and the weights of each (high's is the fraction). */
export interface BilinearTaps {
  low: number[];
  high: number[];
  /** int8: 1024 - fraction and fraction, fraction in 1/1024 steps; float32: 1 - f and f, float32 values. */
  weightLow: number[];
  weightHigh: number[];
}

export interface ResizeBilinearParams {
  dtype: MoveDtype;
  batches: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  rows: BilinearTaps;
  columns: BilinearTaps;
}

const f = Math.fround;

/** C's int32 division (truncating, never -0). */
const div = (a: number, b: number) => Math.trunc(a / b) | 0;

/** ComputeInterpolationValuesInteger over one axis: positions scaled by 1024, C integer division. */
function integerTaps(outSize: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean): BilinearTaps {
  const [num, den] = alignCorners && outSize > 1 ? [inSize - 1, outSize - 1] : [inSize, outSize];
  const scale = div(1024 * num + div(den, 2), den);
  const taps: BilinearTaps = { low: [], high: [], weightLow: [], weightHigh: [] };
  for (let i = 0; i < outSize; i++) {
    const at = halfPixelCenters ? i * scale + div(scale, 2) - 512 : i * scale;
    const low = Math.max(div(at, 1024), 0);
    taps.low.push(low);
    taps.high.push(Math.min(div(at + 1023, 1024), inSize - 1));
    taps.weightLow.push(1024 - (at - 1024 * low));
    taps.weightHigh.push(at - 1024 * low);
  }
  return taps;
}

/** ComputeInterpolationValues over one axis, every step in float32. */
function floatTaps(outSize: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean): BilinearTaps {
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const taps: BilinearTaps = { low: [], high: [], weightLow: [], weightHigh: [] };
  for (let i = 0; i < outSize; i++) {
    const at = halfPixelCenters ? f(f(f(i + 0.5) * scale) - 0.5) : f(i * scale);
    const low = Math.max(Math.floor(at), 0);
    const fraction = f(at - low);
    taps.low.push(low);
    taps.high.push(Math.min(Math.ceil(at), inSize - 1));
    taps.weightLow.push(f(1 - fraction));
    taps.weightHigh.push(fraction);
  }
  return taps;
}

export function lowerResizeBilinear(graph: Graph, op: ResizeOp): ResizeBilinearParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const dtype = movedDtype(operands, input, operands.output());
  const [batches, inHeight, inWidth, channels] = input.shape;
  const { size, alignCorners, halfPixelCenters } = op.attrs;
  // TFLite Micro's Prepare refuses the pair.
  if (alignCorners && halfPixelCenters) operands.fail('align_corners and half_pixel_centers cannot both be set');
  const taps = dtype === 'int8' ? integerTaps : floatTaps;
  const rows = taps(size[0], inHeight, alignCorners, halfPixelCenters);
  const columns = taps(size[1], inWidth, alignCorners, halfPixelCenters);
  // TFLite clamps only the upper row: a lower one past the input would be read out of bounds.
  if ([...rows.low.map((r) => r >= inHeight), ...columns.low.map((c) => c >= inWidth)].some(Boolean)) {
    operands.fail(`resizing [${inHeight}, ${inWidth}] to [${size}] makes TFLite read past the input`);
  }
  return { dtype, batches, inHeight, inWidth, channels, rows, columns };
}
