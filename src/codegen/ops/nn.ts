// Kernel calls for the multiply-accumulate ops (conv, transpose conv, depthwise conv, fully connected) and pooling,
// int8 and float32. Every int8 constant comes from src/lower, the functions the host reference
// uses; this module only picks the kernel and lays the weights out the way that kernel reads them.

import { modelError } from '../../ir/errors.ts';
import type { Conv2DOp, DepthwiseConv2DOp, FullyConnectedOp, Graph, Op, Pool2DOp, TransposeConv2DOp } from '../../ir/types.ts';
import { describeOp } from '../../ir/verify.ts';
import { lowerConv2D, lowerDepthwiseConv2D, lowerTransposeConv2D } from '../../lower/conv.ts';
import { type MatrixShape, lowerFullyConnected } from '../../lower/fully_connected.ts';
import { lowerPool2D } from '../../lower/pool.ts';
import type { Int8Requant } from '../../lower/requant.ts';
import type { WindowGeometry } from '../../lower/window.ts';
import { cFloat, cInt } from '../c-syntax.ts';
import type { CodegenTarget, EmitContext, OpCode, OpEmitter } from '../emitter.ts';
import { type CFields, cStruct } from './c-struct.ts';

/** 16x8 (int16 activations, int8 weights): ec_*_s16 kernels, no scratch, no row streaming. */
const is16x8 = (graph: Graph, op: Op) => (op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected') && graph.tensors[op.inputs[0]].dtype === 'int16';

export const nnEmitter: OpEmitter = {
  emit(ctx: EmitContext, op: Op): OpCode {
    if (is16x8(ctx.graph, op)) return emit16x8(ctx, op as Conv2DOp | DepthwiseConv2DOp | FullyConnectedOp);
    switch (op.kind) {
      case 'conv2d':
        return conv2d(ctx, op);
      case 'depthwise_conv2d':
        return depthwiseConv2d(ctx, op);
      case 'transpose_conv2d':
        return transposeConv2d(ctx, op);
      case 'fully_connected':
        return fullyConnected(ctx, op);
      case 'avg_pool2d':
      case 'max_pool2d':
        return pool2d(ctx, op);
      default:
        throw modelError(`${describeOp(op, ctx.graph.ops.indexOf(op))}: ${op.kind} is not a convolution, fully connected or pooling op`);
    }
  },
  scratchBytes(graph: Graph, op: Op, _target: CodegenTarget): number {
    if (is16x8(graph, op)) return 0;
    if (op.kind === 'fully_connected') return fcW16ScratchBytes(graph, op);
    if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d') return 0;
    const plan = int8ConvPlan(graph, op);
    if (plan && c1Applies(graph, op, plan)) return c1ScratchBytes(plan.geometry);
    if (plan && pointwiseAsFc(graph, op, plan)) return fcW16Scratch(pointwiseMatrix(plan.geometry));
    if (plan && convW16Applies(graph, op, plan)) return convW16ScratchBytes(plan.geometry);
    if (plan) return convScratchBytes(plan.geometry);
    if (op.kind === 'depthwise_conv2d' && dw3x3Output(graph, op)) return dw3x3ScratchBytes(lowerDepthwiseConv2D(graph, op));
    // The int8 depthwise kernels keep one output pixel's accumulators (ec_depthwise_conv2d_s8_scratch_size).
    const p = op.kind === 'depthwise_conv2d' ? lowerDepthwiseConv2D(graph, op) : undefined;
    return p?.dtype === 'int8' ? p.outChannels * 4 : 0;
  },
  scratchFreeForLastRow(graph: Graph, op: Op): number {
    // ec_conv2d_c1_s8 has read its widened rows for the last time when it writes its last row.
    if (is16x8(graph, op) || (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d')) return 0;
    const plan = int8ConvPlan(graph, op);
    return plan && c1Applies(graph, op, plan) ? c1WidenedBytes(plan.geometry) : 0;
  },
  heldRows(graph: Graph, op: Op): number {
    // ec_depthwise_conv2d_3x3_s8 widens an output row's three input rows into its ring first.
    return op.kind === 'depthwise_conv2d' && dw3x3Output(graph, op) ? 3 : 0;
  },
  rowBands(graph: Graph, producer: Op): boolean {
    return windowRows(graph, producer);
  },
  windowRows: (graph: Graph, op: Op) => windowRows(graph, op),
};

/** The int8 convolution kernels all take an ec_window, except a 1x1 run as fully connected. */
function windowRows(graph: Graph, op: Op): boolean {
  if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d') return false;
  const plan = int8ConvPlan(graph, op);
  if (plan) return !(!c1Applies(graph, op, plan) && pointwiseAsFc(graph, op, plan));
  return op.kind === 'depthwise_conv2d' && lowerDepthwiseConv2D(graph, op).dtype === 'int8';
}

// ---- int8 convolution as a matrix product (ec_conv2d_s8, ec_conv2d_1x1_s8) ----

/** What ec_conv2d_s8 runs: a window, and the filters as rows of filterHeight * filterWidth * inChannels values. */
interface ConvPlan {
  geometry: WindowGeometry;
  rows: ArrayLike<number>;
  requant: Int8Requant;
}

/** Values per filter row rounded up to whole words: the kernel reads the rows four bytes at a time. */
const depth4 = (g: WindowGeometry) => Math.ceil((g.filterHeight * g.filterWidth * g.inChannels) / 4) * 4;

const isPointwise = (g: WindowGeometry) =>
  g.filterHeight === 1 && g.filterWidth === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0;

/**
 * As ec_conv2d_s8_scratch_size and ec_conv2d_1x1_s8_scratch_size compute it: two int16 columns of
 * depth4 values (the two pixels computed together), their int32 accumulators (channels rounded up
 * to a pair), and for the general kernel the int8 receptive field it gathers before widening.
 */
const convScratchBytes = (g: WindowGeometry) =>
  2 * depth4(g) * 2 + 2 * (g.outChannels + (g.outChannels % 2)) * 4 + (isPointwise(g) ? 0 : depth4(g));

/** As ec_conv2d_w16_s8_scratch_size: the two columns and the int8 receptive field, no accumulators. */
const convW16ScratchBytes = (g: WindowGeometry) => 2 * depth4(g) * 2 + depth4(g);

/** Output channels rounded up to a pair: the int16-weight kernel reads the output words of the zero channel too. */
const channelPairs = (g: WindowGeometry) => g.outChannels + (g.outChannels % 2);

/**
 * The int8 conv, or the int8 depthwise conv of a single input channel (every output channel then
 * reads the same input channel: a conv whose filters are the depthwise filter's columns).
 */
function int8ConvPlan(graph: Graph, op: Conv2DOp | DepthwiseConv2DOp): ConvPlan | undefined {
  if (op.kind === 'conv2d') {
    const p = lowerConv2D(graph, op);
    return p.dtype === 'int8' ? { geometry: p, rows: weightsOf(graph, op), requant: p } : undefined;
  }
  const p = lowerDepthwiseConv2D(graph, op);
  if (p.dtype !== 'int8' || p.inChannels !== 1) return undefined;
  const filter = weightsOf(graph, op);
  const taps = p.filterHeight * p.filterWidth;
  const rows = new Int8Array(filter.length);
  for (let c = 0; c < p.outChannels; c++) for (let k = 0; k < taps; k++) rows[c * taps + k] = filter[k * p.outChannels + c];
  return { geometry: p, rows, requant: p };
}

function weightsOf(graph: Graph, op: Op): ArrayLike<number> {
  return graph.tensors[op.inputs[1]].data as ArrayLike<number>;
}

/**
 * The layout ec_conv2d_s8_params.weights describes: rows of `depth` values padded with zeros to
 * `padded` (a multiple of 4), then rows 2i and 2i + 1 interleaved four values at a time, with a
 * zero row after an odd last one.
 */
function interleaveRowPairs(values: ArrayLike<number>, rows: number, depth: number, padded: number): Int8Array {
  const out = new Int8Array(Math.ceil(rows / 2) * 2 * padded);
  for (let r = 0; r < rows; r++) {
    const base = (r >> 1) * 2 * padded + (r & 1) * 4;
    for (let k = 0; k < depth; k++) out[base + (k >> 2) * 8 + (k & 3)] = values[r * depth + k];
  }
  return out;
}

// ---- one or a few input channels (ec_conv2d_c1_s8) ----

/** EC_C1_MAX_ROWS */
const C1_MAX_ROWS = 16;

/**
 * A conv of several input channels widens whole input rows once (ec_conv2d_c1_s8) rather than
 * gathering and widening every output pixel's receptive field (ec_conv2d_w16_s8) for at most this
 * many input channels (an RGB image's first layer) and output channels: its one-pixel-by-four-channel
 * pass costs more per MAC than the two-by-two tile, which only few output channels make up for
 * (measured: MobileNet's 3 -> 8 first layer 5% fewer instructions, ResNet-8's 3 -> 16 12% more).
 */
const C1_MAX_CHANNELS = { in: 4, out: 8 };

/** Values per filter row (filterWidth * inChannels) in whole pairs. */
const c1Pairs = (g: WindowGeometry) => Math.ceil((g.filterWidth * g.inChannels) / 2);
const c1Blocks = (g: WindowGeometry) => Math.ceil(g.outChannels / 4);

/** As ec_conv2d_c1_s8_scratch_size: the widened input rows, then one row of outputs' accumulators. */
function c1ScratchBytes(g: WindowGeometry): number {
  return c1WidenedBytes(g) + g.outWidth * 4 * c1Blocks(g) * 4;
}

/** The widened rows at the start of ec_conv2d_c1_s8's scratch, as c1_row_length int16 each. */
function c1WidenedBytes(g: WindowGeometry): number {
  const rowLength = ((g.outWidth - 1) * g.strideW * g.inChannels + 2 * c1Pairs(g) + 1) & ~1;
  return g.filterHeight * rowLength * 2;
}

function c1Output(ctx: EmitContext, op: Op, plan: ConvPlan): CFields | undefined {
  const g = plan.geometry;
  return output2Fields(ctx, op, plan.requant, undefined, absRowSums(plan.rows, g.outChannels), 4 * c1Blocks(g));
}

/** Whether ec_conv2d_c1_s8 runs this conv: a few input channels, dilation 1, a short filter, and ec_requantize2. */
function c1Applies(graph: Graph, op: Op, plan: ConvPlan): boolean {
  const g = plan.geometry;
  if ((g.inChannels > 1 && (g.inChannels > C1_MAX_CHANNELS.in || g.outChannels > C1_MAX_CHANNELS.out)) || g.dilationH !== 1 || g.dilationW !== 1 || g.filterHeight > C1_MAX_ROWS) return false;
  return requant2Words(graph, op, plan.requant, undefined, absRowSums(plan.rows, g.outChannels), 4 * c1Blocks(g)) !== undefined;
}

/**
 * The layout ec_conv2d_c1_s8_params.weights describes: channels in blocks of four (zero channels after
 * the last); per block, filter row and pair of values (a filter row is filterWidth * inChannels values,
 * a zero after an odd count), the four channels' pairs, doubled.
 */
function c1Weights(g: WindowGeometry, rows: ArrayLike<number>): Int16Array {
  const pairs = c1Pairs(g);
  const rowValues = g.filterWidth * g.inChannels;
  const out = new Int16Array(c1Blocks(g) * g.filterHeight * pairs * 8);
  for (let c = 0; c < g.outChannels; c++) {
    for (let ky = 0; ky < g.filterHeight; ky++) {
      for (let t = 0; t < rowValues; t++) {
        const word = ((((c >> 2) * g.filterHeight + ky) * pairs + (t >> 1)) * 4 + (c & 3)) * 2;
        out[word + (t & 1)] = 2 * rows[(c * g.filterHeight + ky) * rowValues + t];
      }
    }
  }
  return out;
}

function convC1(ctx: EmitContext, op: Conv2DOp | DepthwiseConv2DOp, plan: ConvPlan, output: CFields): OpCode {
  const g = plan.geometry;
  const weights = ctx.constant(
    'weights',
    'int16_t',
    c1Weights(g, plan.rows),
    `${describe(ctx, op)}: filters doubled, by blocks of four channels, rows and pairs of values`,
  );
  const params = cStruct('ec_conv2d_c1_s8_params', `${ctx.opName}_params`, {
    window: windowFields(g),
    weights,
    input_zero_point: cInt(-plan.requant.inputOffset),
    output,
  });
  return call(ctx, op, 'ec_conv2d_c1_s8', params, true);
}

// ---- 1x1 convs as fully connected layers over the pixels ----

/**
 * Pointwise layers run as ec_fully_connected_w16_rows_s8 (rows = pixels) wherever its output stage
 * applies: two pixels by two output channels per pass with int16 weights take about three
 * quarters of the instructions of the int8-weight tile (ec_conv2d_1x1_s8), which unpacks every
 * weight word, for twice the weight bytes.
 */
function pointwiseAsFc(graph: Graph, op: Op, plan: ConvPlan): boolean {
  const g = plan.geometry;
  if (!isPointwise(g)) return false;
  return requant2Words(graph, op, plan.requant, rowSums(plan.rows, g.outChannels), absRowSums(plan.rows, g.outChannels), g.outChannels) !== undefined;
}

const pointwiseMatrix = (g: WindowGeometry): MatrixShape => ({ rows: g.batches * g.outHeight * g.outWidth, depth: g.inChannels, units: g.outChannels });

function pointwiseFc(ctx: EmitContext, op: Conv2DOp | DepthwiseConv2DOp, plan: ConvPlan): OpCode {
  const g = plan.geometry;
  const shape = pointwiseMatrix(g);
  const output = output2Fields(ctx, op, plan.requant, rowSums(plan.rows, g.outChannels), absRowSums(plan.rows, g.outChannels), fcW16Padded(shape))!;
  return fcW16Call(ctx, op, shape, plan.rows, output, '1x1 filters');
}

/** Whether ec_conv2d_w16_s8 runs this conv (a window the specialised kernels do not take): where its output stage applies. */
function convW16Applies(graph: Graph, op: Op, plan: ConvPlan): boolean {
  const g = plan.geometry;
  return requant2Words(graph, op, plan.requant, undefined, absRowSums(plan.rows, g.outChannels), channelPairs(g)) !== undefined;
}

function convS8(ctx: EmitContext, op: Conv2DOp | DepthwiseConv2DOp, plan: ConvPlan): OpCode {
  if (c1Applies(ctx.graph, op, plan)) return convC1(ctx, op, plan, c1Output(ctx, op, plan)!);
  if (pointwiseAsFc(ctx.graph, op, plan)) return pointwiseFc(ctx, op, plan);
  const g = plan.geometry;
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  const n4 = depth4(g);
  const interleaved = interleaveRowPairs(plan.rows, g.outChannels, depth, n4);
  const layout = `${describe(ctx, op)}: filters as rows of ${depth} values${n4 > depth ? ` padded to ${n4}` : ''}, pairs of rows interleaved by 4`;
  const output2 = output2Fields(ctx, op, plan.requant, undefined, absRowSums(plan.rows, g.outChannels), channelPairs(g));
  if (output2) {
    // Widened and doubled, each word's values in the order 0, 2, 1, 3 (the lanes of SXTB16).
    const widened = Int16Array.from(interleaved, (_, i) => 2 * interleaved[(i & ~3) + [0, 2, 1, 3][i & 3]]);
    const params = cStruct('ec_conv2d_w16_s8_params', `${ctx.opName}_params`, {
      window: windowFields(g),
      weights: ctx.constant('weights', 'int16_t', widened, `${layout}, doubled, as int16 in the order 0, 2, 1, 3`),
      input_zero_point: cInt(-plan.requant.inputOffset),
      output: output2,
    });
    return call(ctx, op, 'ec_conv2d_w16_s8', params, true);
  }
  const params = cStruct('ec_conv2d_s8_params', `${ctx.opName}_params`, {
    window: windowFields(g),
    weights: ctx.constant('weights', 'int8_t', interleaved, layout),
    input_zero_point: cInt(-plan.requant.inputOffset),
    output: outputFields(ctx, op, plan.requant, absRowSums(plan.rows, g.outChannels)),
  });
  return call(ctx, op, isPointwise(g) ? 'ec_conv2d_1x1_s8' : 'ec_conv2d_s8', params, true);
}

// ---- the other ops ----

function conv2d(ctx: EmitContext, op: Conv2DOp): OpCode {
  const p = lowerConv2D(ctx.graph, op);
  if (p.dtype === 'int8') return convS8(ctx, op, { geometry: p, rows: weightsOf(ctx.graph, op), requant: p });
  const params = cStruct('ec_conv2d_f32_params', `${ctx.opName}_params`, {
    window: windowFields(p),
    weights: ctx.pointer(op.inputs[1]),
    bias: floatBias(ctx, op, p.outChannels),
    act_min: cFloat(p.actMin),
    act_max: cFloat(p.actMax),
  });
  return call(ctx, op, 'ec_conv2d_f32', params, false);
}

/** One kernel per type; its weights are the model's OHWI filter as it is. */
function transposeConv2d(ctx: EmitContext, op: TransposeConv2DOp): OpCode {
  const p = lowerTransposeConv2D(ctx.graph, op);
  const bias = op.inputs.length > 2 ? ctx.pointer(op.inputs[2]) : 'NULL';
  if (p.dtype === 'float32') {
    const params = cStruct('ec_transpose_conv2d_f32_params', `${ctx.opName}_params`, {
      window: windowFields(p),
      weights: ctx.pointer(op.inputs[1]),
      bias,
      act_min: cFloat(p.actMin),
      act_max: cFloat(p.actMax),
    });
    return call(ctx, op, 'ec_transpose_conv2d_f32', params, false);
  }
  const params = cStruct('ec_transpose_conv2d_s8_params', `${ctx.opName}_params`, {
    window: windowFields(p),
    weights: ctx.pointer(op.inputs[1]),
    bias,
    input_offset: cInt(p.inputOffset),
    multiplier: ctx.constant('multiplier', 'int32_t', p.outputMultiplier, 'per output channel'),
    shift: ctx.constant('shift', 'int32_t', p.outputShift, 'per output channel, > 0 left'),
    output_zero_point: cInt(p.outputOffset),
    act_min: cInt(p.actMin),
    act_max: cInt(p.actMax),
  });
  return call(ctx, op, 'ec_transpose_conv2d_s8', params, false);
}

function depthwiseConv2d(ctx: EmitContext, op: DepthwiseConv2DOp): OpCode {
  const plan = int8ConvPlan(ctx.graph, op);
  if (plan) return convS8(ctx, op, plan);
  const p = lowerDepthwiseConv2D(ctx.graph, op);
  if (p.dtype === 'float32') {
    const params = cStruct('ec_depthwise_conv2d_f32_params', `${ctx.opName}_params`, {
      window: windowFields(p),
      depth_multiplier: cInt(p.depthMultiplier),
      weights: ctx.pointer(op.inputs[1]),
      bias: floatBias(ctx, op, p.outChannels),
      act_min: cFloat(p.actMin),
      act_max: cFloat(p.actMax),
    });
    return call(ctx, op, 'ec_depthwise_conv2d_f32', params, false);
  }
  if (dw3x3Output(ctx.graph, op)) return depthwise3x3(ctx, op);
  const grouped = p.depthMultiplier === 1;
  const weights = ctx.constant(
    'weights',
    'int16_t',
    grouped ? groupsOfFour(weightsOf(ctx.graph, op), p.outChannels) : Int16Array.from(weightsOf(ctx.graph, op)),
    `${describe(ctx, op)}: filter widened to int16${grouped ? ', by groups of four channels (each in the order 0, 2, 1, 3), then the rest' : ''}`,
  );
  const params = cStruct('ec_depthwise_conv2d_s8_params', `${ctx.opName}_params`, {
    window: windowFields(p),
    depth_multiplier: cInt(p.depthMultiplier),
    weights,
    input_zero_point: cInt(-p.inputOffset),
    output: outputFields(ctx, op, p, absColumnSums(weightsOf(ctx.graph, op), p.outChannels)),
  });
  return call(ctx, op, grouped ? 'ec_depthwise_conv2d_s8' : 'ec_depthwise_conv2d_mult_s8', params, true);
}

// ---- 3x3 depthwise on channel planes (ec_depthwise_conv2d_3x3_s8) ----

/** Whether ec_depthwise_conv2d_3x3_s8 runs this layer, and then its ec_requantize2 words (no zero point folded in). */
function dw3x3Output(graph: Graph, op: DepthwiseConv2DOp): Int32Array | undefined {
  const p = lowerDepthwiseConv2D(graph, op);
  if (p.dtype !== 'int8' || p.depthMultiplier !== 1 || p.inChannels !== p.outChannels || p.inChannels === 1) return undefined;
  if (p.filterHeight !== 3 || p.filterWidth !== 3 || p.dilationH !== 1 || p.dilationW !== 1) return undefined;
  if ((p.strideW !== 1 && p.strideW !== 2) || p.padLeft > 1 || p.padLeft < 0 || p.padTop < 0) return undefined;
  return requant2Words(graph, op, p, undefined, absColumnSums(weightsOf(graph, op), p.outChannels), p.outChannels);
}

/** As ec_depthwise_conv2d_3x3_s8_scratch_size: three int16 rows per channel, of the columns the output pairs read. */
const dw3x3ScratchBytes = (g: WindowGeometry) => 3 * g.inChannels * (g.strideW * (g.outWidth + (g.outWidth % 2)) + 2) * 2;

function depthwise3x3(ctx: EmitContext, op: DepthwiseConv2DOp): OpCode {
  const p = lowerDepthwiseConv2D(ctx.graph, op);
  if (p.dtype !== 'int8') throw new Error('unreachable: dw3x3Output checked the dtype');
  const filter = weightsOf(ctx.graph, op);
  const weights = new Int16Array(9 * p.outChannels);
  for (let c = 0; c < p.outChannels; c++) for (let k = 0; k < 9; k++) weights[9 * c + k] = 2 * filter[k * p.outChannels + c];
  const params = cStruct('ec_depthwise_conv2d_3x3_s8_params', `${ctx.opName}_params`, {
    window: windowFields(p),
    weights: ctx.constant('weights', 'int16_t', weights, `${describe(ctx, op)}: per channel its nine taps, doubled`),
    input_zero_point: cInt(-p.inputOffset),
    output: output2Fields(ctx, op, p, undefined, absColumnSums(filter, p.outChannels))!,
  });
  return call(ctx, op, 'ec_depthwise_conv2d_3x3_s8', params, true);
}

/**
 * The layout ec_depthwise_conv2d_s8 reads, filter [taps][channels] widened to int16: for each whole
 * group of four channels all its taps, four values each in the order 0, 2, 1, 3 (SXTB16 splits four
 * input bytes into the lanes (c0, c2) and (c1, c3), so each weight word lines up with one); then
 * [taps][channels % 4] for the remaining channels.
 */
function groupsOfFour(filter: ArrayLike<number>, channels: number): Int16Array {
  const taps = filter.length / channels;
  const whole = channels - (channels % 4);
  const out = new Int16Array(filter.length);
  let i = 0;
  for (let c = 0; c < whole; c += 4) {
    for (let k = 0; k < taps; k++) for (const lane of [0, 2, 1, 3]) out[i++] = filter[k * channels + c + lane];
  }
  for (let k = 0; k < taps; k++) for (let c = whole; c < channels; c++) out[i++] = filter[k * channels + c];
  return out;
}

function fullyConnected(ctx: EmitContext, op: FullyConnectedOp): OpCode {
  const p = lowerFullyConnected(ctx.graph, op);
  // A function: the model's own weights are declared only for the kernels that read them as they are.
  const shape = () => ({ rows: cInt(p.rows), depth: cInt(p.depth), units: cInt(p.units), weights: ctx.pointer(op.inputs[1]) });
  if (p.dtype === 'float32') {
    const params = cStruct('ec_fully_connected_f32_params', `${ctx.opName}_params`, {
      ...shape(),
      bias: floatBias(ctx, op, p.units),
      act_min: cFloat(p.actMin),
      act_max: cFloat(p.actMax),
    });
    return call(ctx, op, 'ec_fully_connected_f32', params, false);
  }
  const matrix = weightsOf(ctx.graph, op);
  const output2 = output2Fields(ctx, op, p, rowSums(matrix, p.units), absRowSums(matrix, p.units), fcW16Padded(p));
  if (output2) return fcW16Call(ctx, op, p, matrix, output2, 'weights');
  const params = cStruct('ec_fully_connected_s8_params', `${ctx.opName}_params`, {
    ...shape(),
    input_zero_point: cInt(-p.inputOffset),
    output: outputFields(ctx, op, p, absRowSums(matrix, p.units)),
  });
  return call(ctx, op, 'ec_fully_connected_s8', params, false);
}

function fcW16Call(ctx: EmitContext, op: Op, shape: MatrixShape, matrix: ArrayLike<number>, output: CFields, what: string): OpCode {
  const block = fcW16Block(shape);
  const params = cStruct('ec_fully_connected_w16_s8_params', `${ctx.opName}_params`, {
    rows: cInt(shape.rows),
    depth: cInt(shape.depth),
    units: cInt(shape.units),
    weights: ctx.constant(
      'weights',
      'int16_t',
      unitBlocks(matrix, shape.units, shape.depth, block),
      `${describe(ctx, op)}: ${what} doubled, by blocks of ${block} units and groups of four values, each unit's pairs (0, 2) and (1, 3)`,
    ),
    output,
  });
  const scratch = fcW16Scratch(shape) > 0;
  const code = call(ctx, op, fcW16Kernel(shape, output.mode === cInt(0)), params, scratch);
  if (!scratch) code.statements = code.statements.map((line) => line.replace(/\);$/, ', NULL);'));
  return code;
}

/** Rows of these many groups of four values have a kernel of their own (ec_fully_connected_w16_rows<n>_s8), in mode 0. */
const FC_ROWS_GROUPS = [2, 4, 8, 16];

/** The kernel of one row, of several rows, or of several rows of a length with a copy of its own. */
function fcW16Kernel(shape: MatrixShape, mode0: boolean): string {
  if (shape.rows === 1) return 'ec_fully_connected_w16_s8';
  const groups = Math.ceil(shape.depth / 4);
  return mode0 && FC_ROWS_GROUPS.includes(groups) ? `ec_fully_connected_w16_rows${groups}_s8` : 'ec_fully_connected_w16_rows_s8';
}

/** As ec_fully_connected_w16_(rows_)s8_scratch_size, when that kernel runs the layer. */
function fcW16ScratchBytes(graph: Graph, op: FullyConnectedOp): number {
  const p = lowerFullyConnected(graph, op);
  if (p.dtype !== 'int8') return 0;
  const matrix = weightsOf(graph, op);
  const words = requant2Words(graph, op, p, rowSums(matrix, p.units), absRowSums(matrix, p.units), p.units);
  return words ? fcW16Scratch(p) : 0;
}

/** EC_FC_CHUNK_GROUPS */
const FC_CHUNK_GROUPS = 56;

/**
 * ec_fully_connected_w16_rows_s8_scratch_size: two rows split into even and odd bytes for several
 * rows; ec_fully_connected_w16_s8_scratch_size: for one row with more than four units the whole row, or where that is smaller chunks of equal
 * length (at most FC_CHUNK_GROUPS groups) plus every unit's accumulator.
 */
function fcW16Scratch({ rows, depth, units }: MatrixShape): number {
  const groups = Math.ceil(depth / 4);
  if (rows > 1) return groups * 16;
  if (units <= 4) return 0;
  const chunks = Math.ceil(groups / FC_CHUNK_GROUPS);
  const chunked = Math.ceil(groups / chunks) * 8 + Math.ceil(units / 4) * 16;
  return chunks > 1 && chunked < groups * 8 ? chunked : groups * 8;
}

/** Units per weight block: four for a single row, two for the two-by-two tile of several rows. */
const fcW16Block = (shape: MatrixShape) => (shape.rows > 1 ? 2 : 4);

/** Units rounded up to whole blocks: the kernel reads the output stage's words of the padding units too. */
const fcW16Padded = (shape: MatrixShape) => Math.ceil(shape.units / fcW16Block(shape)) * fcW16Block(shape);

/**
 * The layout ec_fully_connected_w16_s8_params.weights describes: [units, depth] doubled as int16,
 * units in blocks of `block` (zero units after the last), depth in groups of four (zeros after the
 * last value), per block and group for each unit the pairs (w0, w2) and (w1, w3).
 */
function unitBlocks(matrix: ArrayLike<number>, units: number, depth: number, block: number): Int16Array {
  const groups = Math.ceil(depth / 4);
  const blocks = Math.ceil(units / block);
  const out = new Int16Array(blocks * groups * block * 4);
  for (let u = 0; u < units; u++) {
    const b = Math.floor(u / block), j = u % block;
    for (let k = 0; k < depth; k++) {
      const g = k >> 2, lane = [0, 2, 1, 3][k & 3];
      out[((b * groups + g) * block + j) * 4 + lane] = 2 * matrix[u * depth + k];
    }
  }
  return out;
}

function pool2d(ctx: EmitContext, op: Pool2DOp): OpCode {
  const p = lowerPool2D(ctx.graph, op);
  const integer = p.dtype !== 'float32';
  const suffix = { int8: 's8', int16: 's16', float32: 'f32' }[p.dtype];
  const params = cStruct(`ec_pool_${integer ? 'q' : 'f32'}_params`, `${ctx.opName}_params`, {
    window: windowFields(p),
    act_min: integer ? cInt(p.actMin) : cFloat(p.actMin),
    act_max: integer ? cInt(p.actMax) : cFloat(p.actMax),
  });
  return call(ctx, op, `ec_${op.kind === 'avg_pool2d' ? 'avgpool' : 'maxpool'}_${suffix}`, params, false);
}

// ---- 16x8 (ec_fully_connected_s16, ec_conv2d_s16, ec_depthwise_conv2d_s16) ----

function emit16x8(ctx: EmitContext, op: Conv2DOp | DepthwiseConv2DOp | FullyConnectedOp): OpCode {
  const { graph, opName } = ctx;
  const p = op.kind === 'fully_connected' ? lowerFullyConnected(graph, op) : op.kind === 'conv2d' ? lowerConv2D(graph, op) : lowerDepthwiseConv2D(graph, op);
  if (p.dtype !== 'int16') throw new Error(`unreachable: ${describe(ctx, op)} is not 16x8`);
  const what = describe(ctx, op);
  const bias = op.inputs[2] === undefined ? undefined : (graph.tensors[op.inputs[2]].data as Int32Array | BigInt64Array);
  const shifts = Array.from(p.outputShift);
  // TFLite's 64-bit requantization takes shifts up to 7 only.
  if (p.wideAccumulator && shifts.some((s) => s > 7)) throw modelError(`${what}: an effective output scale of 2^8 or more is beyond TFLite's 16x8 requantization`);
  const output: CFields = {
    bias: bias ? ctx.constant('bias', 'int64_t', Array.from(bias, Number), `${what}: bias, as int64`) : 'NULL',
    multiplier: ctx.constant('multiplier', 'int32_t', p.outputMultiplier, `${what}: output multipliers`),
    shift: ctx.constant('shift', 'int32_t', shifts, `${what}: output shifts (> 0: left)`),
    per_channel: p.outputMultiplier.length > 1 ? '1' : '0',
    wide: p.wideAccumulator ? '1' : '0',
    act_min: cInt(p.actMin),
    act_max: cInt(p.actMax),
  };
  const widened = () => ctx.constant('weights', 'int16_t', Int16Array.from(weightsOf(graph, op)), `${what}: weights widened to int16 (two products per SMLAD)`);
  let params: string;
  if (op.kind === 'fully_connected') {
    const m = p as typeof p & MatrixShape;
    params = cStruct('ec_fully_connected_s16_params', `${opName}_params`, { rows: cInt(m.rows), depth: cInt(m.depth), units: cInt(m.units), weights: widened(), output });
  } else if (op.kind === 'conv2d') {
    params = cStruct('ec_conv2d_s16_params', `${opName}_params`, { window: windowFields(p as typeof p & WindowGeometry), weights: widened(), output });
  } else {
    const d = p as typeof p & WindowGeometry & { depthMultiplier: number };
    params = cStruct('ec_depthwise_conv2d_s16_params', `${opName}_params`, { window: windowFields(d), depth_multiplier: cInt(d.depthMultiplier), weights: ctx.pointer(op.inputs[1]), output });
  }
  return call(ctx, op, op.kind === 'fully_connected' ? 'ec_fully_connected_s16' : op.kind === 'conv2d' ? 'ec_conv2d_s16' : 'ec_depthwise_conv2d_s16', params, false);
}

// ---- shared pieces ----

function describe(ctx: EmitContext, op: Op): string {
  return `op ${ctx.graph.ops.indexOf(op)} ${op.kind}`;
}

function windowFields(g: WindowGeometry): CFields {
  return {
    batches: cInt(g.batches),
    in_height: cInt(g.inHeight),
    in_width: cInt(g.inWidth),
    in_channels: cInt(g.inChannels),
    out_height: cInt(g.outHeight),
    out_width: cInt(g.outWidth),
    out_channels: cInt(g.outChannels),
    filter_height: cInt(g.filterHeight),
    filter_width: cInt(g.filterWidth),
    stride_height: cInt(g.strideH),
    stride_width: cInt(g.strideW),
    dilation_height: cInt(g.dilationH),
    dilation_width: cInt(g.dilationW),
    pad_top: cInt(g.padTop),
    pad_left: cInt(g.padLeft),
  };
}

/** Sum of |w| over each of `rows` rows of a row-major matrix. */
export function absRowSums(values: ArrayLike<number>, rows: number): number[] {
  const depth = values.length / rows;
  const sums = new Array<number>(rows).fill(0);
  for (let i = 0; i < values.length; i++) sums[Math.floor(i / depth)] += Math.abs(values[i]);
  return sums;
}

/** Sum of |w| over each column of a row-major matrix with `columns` columns. */
function absColumnSums(values: ArrayLike<number>, columns: number): number[] {
  const sums = new Array<number>(columns).fill(0);
  for (let i = 0; i < values.length; i++) sums[i % columns] += Math.abs(values[i]);
  return sums;
}

/**
 * Per-channel bias, multiplier and shift (a per-tensor multiplier is repeated over the channels),
 * and whether requantization may skip its range checks: every shift negative and every
 * accumulator, bias plus at most 255 (input minus zero point) times the channel's sum of |w|,
 * inside [-2^30, 2^30).
 */
export function outputFields(ctx: EmitContext, op: Op, r: Int8Requant, absWeightSums: number[]): CFields {
  const channels = absWeightSums.length;
  const perChannel = (values: Int32Array) => (values.length === channels ? values : new Int32Array(channels).fill(values[0]));
  const multipliers = perChannel(r.outputMultiplier);
  const shifts = perChannel(r.outputShift);
  const biasTensor = op.inputs[2];
  const bias = biasTensor === undefined ? new Int32Array(channels) : (ctx.graph.tensors[biasTensor].data as Int32Array);
  const fast = absWeightSums.every((sum, c) => shifts[c] < 0 && Math.abs(bias[c]) + 255 * sum < 2 ** 30);
  return {
    bias:
      biasTensor === undefined
        ? ctx.constant('bias', 'int32_t', bias, `${describe(ctx, op)}: the model has no bias`)
        : ctx.pointer(biasTensor),
    requant: ctx.constant('requant', 'int32_t', requantPairs(multipliers, shifts), `${describe(ctx, op)}: per channel the multiplier (Q0.31) and ~shift`),
    output_zero_point: cInt(r.outputOffset),
    act_min: cInt(r.actMin),
    act_max: cInt(r.actMax),
    fast: fast ? '1' : '0',
  };
}

/** Sum of w over each of `rows` rows of a row-major matrix. */
function rowSums(values: ArrayLike<number>, rows: number): number[] {
  const depth = values.length / rows;
  const sums = new Array<number>(rows).fill(0);
  for (let i = 0; i < values.length; i++) sums[Math.floor(i / depth)] += values[i];
  return sums;
}

/** Sum of w over each column of a row-major matrix with `columns` columns. */
export function columnSums(values: ArrayLike<number>, columns: number): number[] {
  const sums = new Array<number>(columns).fill(0);
  for (let i = 0; i < values.length; i++) sums[i % columns] += values[i];
  return sums;
}

/** Largest right shift ec_requantize2 takes: (2z + 1) * 2^(r - 1) stays below 2^29 in magnitude. */
const MAX_SHIFT2 = 21;

/**
 * ec_output2_s8 (see ec_requantize2), or undefined where it does not apply: it needs every shift a
 * right shift of at most MAX_SHIFT2, every multiplier non-negative and every accumulator provably
 * inside [-2^30, 2^30) (as ec_output_s8.fast). Per channel: twice the bias with the input zero point
 * folded in (modulo 2^32, as the kernel's sums wrap), the multiplier, (2z + 1) * 2^(r - 1) and r.
 * `mode` 0 when the activation's lower bound is at least z and its range is the int8 range.
 */
function output2Fields(
  ctx: EmitContext,
  op: Op,
  r: Int8Requant,
  weightSums: number[] | undefined,
  absWeightSums: number[],
  paddedChannels = absWeightSums.length,
): CFields | undefined {
  const words = requant2Words(ctx.graph, op, r, weightSums, absWeightSums, paddedChannels);
  if (!words) return undefined;
  const z = r.outputOffset;
  const full = r.actMin === -128 && r.actMax === 127;
  return {
    channels: ctx.constant(
      'channels',
      'int32_t',
      words,
      `${describe(ctx, op)}: per channel 2 * (bias${weightSums ? ' - input zero point * sum of weights' : ''}), multiplier, (2 * output zero point + 1) << (shift - 1), shift${paddedChannels > absWeightSums.length ? '; zero channels after the last' : ''}`,
    ),
    act_min: cInt(r.actMin),
    act_max: cInt(r.actMax),
    mode: cInt(full ? (r.actMin >= z ? 0 : 1) : 2),
  };
}

/** The words of ec_output2_s8.channels, or undefined where ec_requantize2 does not apply (see output2Fields). */
function requant2Words(
  graph: Graph,
  op: Op,
  r: Int8Requant,
  weightSums: number[] | undefined,
  absWeightSums: number[],
  paddedChannels: number,
): Int32Array | undefined {
  const channels = absWeightSums.length;
  const perChannel = (values: Int32Array) => (values.length === channels ? values : new Int32Array(channels).fill(values[0]));
  const multipliers = perChannel(r.outputMultiplier);
  const shifts = perChannel(r.outputShift);
  const biasTensor = op.inputs[2];
  const bias = biasTensor === undefined ? new Int32Array(channels) : (graph.tensors[biasTensor].data as Int32Array);
  const ok = absWeightSums.every(
    (sum, c) => shifts[c] < 0 && -shifts[c] <= MAX_SHIFT2 && multipliers[c] >= 0 && Math.abs(bias[c]) + 255 * sum < 2 ** 30,
  );
  if (!ok) return undefined;
  const z = r.outputOffset;
  const inputZeroPoint = -r.inputOffset;
  const words = new Int32Array(4 * paddedChannels);
  for (let c = 0; c < channels; c++) {
    const shift = -shifts[c];
    const folded = BigInt(bias[c]) - BigInt(inputZeroPoint) * BigInt(weightSums ? weightSums[c] : 0);
    words[4 * c] = Number(BigInt.asIntN(32, 2n * folded));
    words[4 * c + 1] = multipliers[c];
    words[4 * c + 2] = (2 * z + 1) * 2 ** (shift - 1);
    words[4 * c + 3] = shift;
  }
  return words;
}

/** The layout ec_output_s8.requant describes: each channel's multiplier, then the complement of its shift. */
function requantPairs(multipliers: Int32Array, shifts: Int32Array): Int32Array {
  const out = new Int32Array(2 * multipliers.length);
  multipliers.forEach((m, c) => {
    out[2 * c] = m;
    out[2 * c + 1] = ~shifts[c];
  });
  return out;
}

function floatBias(ctx: EmitContext, op: Op, channels: number): string {
  const biasTensor = op.inputs[2];
  return biasTensor === undefined
    ? ctx.constant('bias', 'float', new Float32Array(channels), `${describe(ctx, op)}: the model has no bias (TFLite adds 0.0f)`)
    : ctx.pointer(biasTensor);
}

function call(ctx: EmitContext, op: Op, kernel: string, params: string, scratch: boolean): OpCode {
  const args = [`&${ctx.opName}_params`, ctx.pointer(op.inputs[0]), ctx.pointer(op.outputs[0]), ...(scratch ? [ctx.scratch()] : [])];
  return { declarations: [params], statements: [`${kernel}(${args.join(', ')});`], kernel };
}
