// CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV parameters as TFLite Micro's ConvPrepare,
// DepthwiseConvPrepare and TransposeConvPrepare compute them: SAME padding offsets, and per output
// channel a multiplier and shift (a per-tensor filter scale is repeated over the channels).

import { transposeConvPadding } from '../ir/shape.ts';
import type { Conv2DOp, DepthwiseConv2DOp, Graph, TransposeConv2DOp } from '../ir/types.ts';
import { OpOperands } from './operands.ts';
import { type FloatClamp, type Int8Requant, channelMultipliers, floatClamp, int8Requant, weightedTensors } from './requant.ts';
import { type WindowGeometry, windowGeometry } from './window.ts';

export type ConvParams = WindowGeometry & (Int8Requant | FloatClamp);

export type DepthwiseConvParams = ConvParams & { depthMultiplier: number };

/** Filter OHWI: the output channel is axis 0. */
export function lowerConv2D(graph: Graph, op: Conv2DOp): ConvParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const filter = operands.input(1).shape;
  if (filter.length !== 4) operands.fail(`filter must be 4-D OHWI, got [${filter}]`);
  const geometry = windowGeometry(operands, { filter: [filter[1], filter[2]], ...op.attrs });
  if (filter[0] !== geometry.outChannels || filter[3] !== geometry.inChannels) {
    operands.fail(`filter [${filter}] does not map ${geometry.inChannels} input channels to ${geometry.outChannels} output channels`);
  }
  return { ...geometry, ...outputStage(operands, op.attrs.activation, 0, geometry.outChannels) };
}

/**
 * Filter OHWI. The geometry is the transposed one: input pixel (y, x) reaches output pixels
 * (y * strideH - padTop + ky, x * strideW - padLeft + kx); dilation is always 1.
 */
export function lowerTransposeConv2D(graph: Graph, op: TransposeConv2DOp): ConvParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const [input, filter, output] = [operands.input(0).shape, operands.input(1).shape, operands.output().shape];
  if (input.length !== 4 || filter.length !== 4 || output.length !== 4) operands.fail(`input [${input}], filter [${filter}] and output [${output}] must be 4-D`);
  if (filter[0] !== output[3] || filter[3] !== input[3] || output[0] !== input[0]) {
    operands.fail(`filter [${filter}] does not map input [${input}] to output [${output}]`);
  }
  const [strideH, strideW] = op.attrs.stride;
  const geometry = {
    batches: input[0],
    inHeight: input[1],
    inWidth: input[2],
    inChannels: input[3],
    outHeight: output[1],
    outWidth: output[2],
    outChannels: output[3],
    filterHeight: filter[1],
    filterWidth: filter[2],
    strideH,
    strideW,
    dilationH: 1,
    dilationW: 1,
    padTop: transposeConvPadding(output[1], filter[1], strideH, op.attrs.padding),
    padLeft: transposeConvPadding(output[2], filter[2], strideW, op.attrs.padding),
  };
  return { ...geometry, ...outputStage(operands, op.attrs.activation, 0, geometry.outChannels) };
}

/** Filter 1HW(C*M): output channel c*M + m reads input channel c; the output channel is axis 3. */
export function lowerDepthwiseConv2D(graph: Graph, op: DepthwiseConv2DOp): DepthwiseConvParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const filter = operands.input(1).shape;
  if (filter.length !== 4 || filter[0] !== 1) operands.fail(`filter must be 4-D [1,H,W,C*M], got [${filter}]`);
  const geometry = windowGeometry(operands, { filter: [filter[1], filter[2]], ...op.attrs });
  const depthMultiplier = op.attrs.depthMultiplier;
  if (geometry.outChannels !== geometry.inChannels * depthMultiplier || filter[3] !== geometry.outChannels) {
    operands.fail(
      `filter [${filter}] and output channels ${geometry.outChannels} must both be input channels ${geometry.inChannels} x depth multiplier ${depthMultiplier}`,
    );
  }
  return { ...geometry, depthMultiplier, ...outputStage(operands, op.attrs.activation, 3, geometry.outChannels, false) };
}

function outputStage(operands: OpOperands, activation: Conv2DOp['attrs']['activation'], axis: number, channels: number, int32Bias16x8 = true): Int8Requant | FloatClamp {
  const tensors = weightedTensors(operands, channels, int32Bias16x8);
  if (tensors.input.dtype === 'float32') return floatClamp(activation);
  return int8Requant(operands, tensors, activation, channelMultipliers(operands, tensors, axis, channels));
}
