// Sliding-window geometry shared by conv, depthwise conv and pooling (all NHWC).

import { windowOutputSize, windowPadBefore } from '../ir/shape.ts';
import type { Padding } from '../ir/types.ts';
import type { OpOperands } from './operands.ts';

export interface WindowGeometry {
  batches: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  /**
   * Rows and columns of implicit padding before the input, as TFLite computes them for SAME
   * (the odd pixel of an odd total goes after, and is never read). Zero for VALID.
   */
  padTop: number;
  padLeft: number;
}

export interface WindowSpec {
  filter: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: Padding;
}

/** The geometry of a window over the op's first input, checked against the op's output shape. */
export function windowGeometry(operands: OpOperands, spec: WindowSpec): WindowGeometry {
  const input = operands.input(0).shape;
  const output = operands.output().shape;
  if (input.length !== 4 || output.length !== 4) {
    operands.fail(`input [${input}] and output [${output}] must both be 4-D NHWC`);
  }
  const [filterHeight, filterWidth] = spec.filter;
  const [strideH, strideW] = spec.stride;
  const [dilationH, dilationW] = spec.dilation;
  if ([...spec.filter, ...spec.stride, ...spec.dilation].some((v) => !Number.isInteger(v) || v < 1)) {
    operands.fail(`window ${spec.filter}, stride ${spec.stride} and dilation ${spec.dilation} must be positive integers`);
  }
  const outHeight = windowOutputSize(input[1], filterHeight, strideH, dilationH, spec.padding);
  const outWidth = windowOutputSize(input[2], filterWidth, strideW, dilationW, spec.padding);
  if (output[0] !== input[0] || output[1] !== outHeight || output[2] !== outWidth) {
    operands.fail(`output shape [${output}] does not match the window over input [${input}] (expected ${outHeight}x${outWidth})`);
  }
  return {
    batches: input[0],
    inHeight: input[1],
    inWidth: input[2],
    inChannels: input[3],
    outHeight,
    outWidth,
    outChannels: output[3],
    filterHeight,
    filterWidth,
    strideH,
    strideW,
    dilationH,
    dilationW,
    padTop: windowPadBefore(input[1], filterHeight, strideH, dilationH, spec.padding),
    padLeft: windowPadBefore(input[2], filterWidth, strideW, dilationW, spec.padding),
  };
}
