// Kernel calls for the data-movement ops: reshape and squeeze (usually nothing at all), pad,
// concatenation and pack, strided slice, transpose, space/depth rearrangement, gather, mean, quantize and dequantize, int8 and float32. Constants come from src/lower,
// the same functions the host reference uses.

import { DTYPE_BYTES, numel } from '../../ir/dtype.ts';
import { modelError } from '../../ir/errors.ts';
import type { ArgMinMaxOp, BlockRearrangeOp, ConcatenationOp, GatherOp, MeanOp, Op, PackOp, PadOp, ReshapeOp, ResizeOp, SqueezeOp, StridedSliceOp, TransposeOp, UnaryOp } from '../../ir/types.ts';
import { describeOp } from '../../ir/verify.ts';
import { type ConcatParams, lowerConcatenation } from '../../lower/concat.ts';
import { lowerGather, lowerMove, lowerPack, lowerResizeNearest } from '../../lower/move.ts';
import { lowerMean, lowerReduceMax } from '../../lower/mean.ts';
import { lowerResizeBilinear } from '../../lower/resize.ts';
import { lowerArgMinMax } from '../../lower/arg-min-max.ts';
import { lowerPad } from '../../lower/pad.ts';
import { lowerDequantize, lowerQuantize } from '../../lower/quantize.ts';
import { cFloat, cInitializer, cInt } from '../c-syntax.ts';
import type { EmitContext, OpCode, OpEmitter } from '../emitter.ts';
import { cStruct } from './c-struct.ts';
import { emitLookup } from './lookup.ts';
import { contiguousStrides, walkFields, type WalkDim } from './walk.ts';

const where = (ctx: EmitContext, op: Op) => describeOp(op, ctx.graph.ops.indexOf(op));

function reshape(ctx: EmitContext, op: ReshapeOp | SqueezeOp): OpCode {
  const [input, output] = [op.inputs[0], op.outputs[0]];
  const offset = ctx.plan.tensorOffset.get(input);
  if (offset !== undefined && offset === ctx.plan.tensorOffset.get(output)) {
    return { declarations: [], statements: ['/* The output is the input\'s bytes under a new shape: nothing to run. */'], kernel: 'none (aliases its input)' };
  }
  const tensor = ctx.graph.tensors[input];
  const bytes = numel(tensor.shape) * DTYPE_BYTES[tensor.dtype];
  return { declarations: [], statements: [`memcpy(${ctx.pointer(output)}, ${ctx.pointer(input)}, ${bytes});`], kernel: 'memcpy' };
}

function pad(ctx: EmitContext, op: PadOp): OpCode {
  const p = lowerPad(ctx.graph, op);
  const inStrides = contiguousStrides(p.inShape);
  const outStrides = contiguousStrides(p.outShape);
  const rows = walkFields(
    p.inShape.map((size, d) => ({ size, a: inStrides[d], b: outStrides[d] })),
    where(ctx, op),
  );
  const params = cStruct('ec_pad_params', `${ctx.opName}_params`, {
    rows,
    output_start: cInt(p.before.reduce((sum, b, d) => sum + b * outStrides[d], 0)),
    output_count: cInt(numel(p.outShape)),
  });
  const [input, output] = [ctx.pointer(op.inputs[0]), ctx.pointer(op.outputs[0])];
  const statement =
    p.dtype === 'int8'
      ? `ec_pad_s8(&${ctx.opName}_params, ${cInt(p.padValue)}, ${input}, ${output});`
      : `ec_pad_f32(&${ctx.opName}_params, ${input}, ${output});`;
  return { declarations: [params], statements: [statement], kernel: p.dtype === 'int8' ? 'ec_pad_s8' : 'ec_pad_f32' };
}

/** CONCATENATION, and PACK (a concatenation along a new axis). */
function concatenation(ctx: EmitContext, op: ConcatenationOp | PackOp): OpCode {
  const p: ConcatParams = op.kind === 'pack' ? lowerPack(ctx.graph, op) : lowerConcatenation(ctx.graph, op);
  const { opName } = ctx;
  const [ctype, suffix] = p.dtype === 'int8' ? ['int8_t', 's8'] : ['float', 'f32'];
  const declarations = [
    `static const int32_t ${opName}_block[${p.chunks.length}] = {\n${cInitializer(p.chunks, 'int32_t')}\n};`,
    `static const ${ctype} *const ${opName}_inputs[${op.inputs.length}] = {\n${op.inputs.map((t) => `    ${ctx.pointer(t)}`).join(',\n')}\n};`,
    cStruct('ec_concatenation_params', `${opName}_params`, {
      outer: cInt(p.outer),
      count: cInt(p.chunks.length),
      block: `${opName}_block`,
    }),
  ];
  const kernel = `ec_concatenation_${suffix}`;
  return { declarations, statements: [`${kernel}(&${opName}_params, ${opName}_inputs, ${ctx.pointer(op.outputs[0])});`], kernel };
}

function move(ctx: EmitContext, op: StridedSliceOp | TransposeOp | BlockRearrangeOp): OpCode {
  const p = lowerMove(ctx.graph, op);
  const outStrides = contiguousStrides(p.dims);
  const params = cStruct('ec_move_params', `${ctx.opName}_params`, {
    walk: walkFields(
      p.dims.map((size, d) => ({ size, a: p.strides[d], b: outStrides[d] })),
      where(ctx, op),
    ),
    start: cInt(p.start),
  });
  const kernel = p.dtype === 'int8' ? 'ec_move_s8' : 'ec_move_f32';
  return { declarations: [params], statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel };
}

function gather(ctx: EmitContext, op: GatherOp): OpCode {
  const p = lowerGather(ctx.graph, op);
  const indices = ctx.constant('indices', 'int32_t', p.indices, `indices along axis ${op.attrs.axis}`);
  const params = cStruct('ec_gather_params', `${ctx.opName}_params`, {
    outer: cInt(p.outer),
    axis_size: cInt(p.axisSize),
    inner: cInt(p.inner),
    count: cInt(p.indices.length),
    indices,
  });
  const kernel = p.dtype === 'int8' ? 'ec_gather_s8' : 'ec_gather_f32';
  return { declarations: [params], statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel };
}

function resizeNearest(ctx: EmitContext, op: ResizeOp): OpCode {
  const p = lowerResizeNearest(ctx.graph, op);
  const params = cStruct('ec_resize_nearest_params', `${ctx.opName}_params`, {
    batches: cInt(p.batches),
    input_height: cInt(p.inHeight),
    input_width: cInt(p.inWidth),
    channels: cInt(p.channels),
    output_height: cInt(p.rows.length),
    output_width: cInt(p.columns.length),
    rows: ctx.constant('rows', 'int32_t', p.rows, 'input row of each output row'),
    columns: ctx.constant('columns', 'int32_t', p.columns, 'input column of each output column'),
  });
  const kernel = p.dtype === 'int8' ? 'ec_resize_nearest_s8' : 'ec_resize_nearest_f32';
  return { declarations: [params], statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel };
}

/** The row and column tables of src/lower/resize.ts, in pairs per output row (column) as the kernels read them. */
function resizeBilinear(ctx: EmitContext, op: ResizeOp): OpCode {
  const p = lowerResizeBilinear(ctx.graph, op);
  const shape = {
    batches: cInt(p.batches),
    input_height: cInt(p.inHeight),
    input_width: cInt(p.inWidth),
    channels: cInt(p.channels),
    output_height: cInt(p.rows.low.length),
    output_width: cInt(p.columns.low.length),
  };
  const { rows, columns } = p;
  const pairs = (t: typeof rows) => t.low.flatMap((low, i) => [low, t.high[i]]);
  const weights = (t: typeof rows) => t.weightLow.flatMap((w, i) => [w, t.weightHigh[i]]);
  const int8 = p.dtype === 'int8';
  const [wtype, unit] = int8 ? (['int32_t', ' in 1/1024'] as const) : (['float', ''] as const);
  const params = cStruct(`ec_resize_bilinear_${int8 ? 's8' : 'f32'}_params`, `${ctx.opName}_params`, {
    ...shape,
    rows: ctx.constant('rows', 'int32_t', pairs(rows), 'low and high input row'),
    columns: ctx.constant('columns', 'int32_t', pairs(columns), 'low and high input column'),
    row_weights: ctx.constant('row_weights', wtype, weights(rows), `weights of the low and high row${unit}`),
    column_weights: ctx.constant('column_weights', wtype, weights(columns), `weights of the low and high column${unit}`),
  });
  const kernel = int8 ? 'ec_resize_bilinear_s8' : 'ec_resize_bilinear_f32';
  return { declarations: [params], statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel };
}

function argMinMax(ctx: EmitContext, op: ArgMinMaxOp): OpCode {
  const p = lowerArgMinMax(ctx.graph, op);
  const params = cStruct('ec_arg_min_max_params', `${ctx.opName}_params`, { outer: cInt(p.outer), axis_size: cInt(p.axisSize), inner: cInt(p.inner) });
  const kernel = `ec_${op.kind}_${p.dtype === 'int8' ? 's8' : 'f32'}`;
  return { declarations: [params], statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel };
}

/** MEAN, SUM and REDUCE_MAX: one reduction walk; the kernel and its constants differ. */
function mean(ctx: EmitContext, op: MeanOp): OpCode {
  const q = op.kind === 'reduce_max' ? undefined : lowerMean(ctx.graph, op);
  const p = q ?? lowerReduceMax(ctx.graph, op);
  const strides = contiguousStrides(p.inShape);
  const loops = (reduced: boolean): WalkDim[] =>
    p.inShape.flatMap((size, d) => (p.axes.includes(d) === reduced ? [{ size, a: strides[d], b: 0 }] : []));
  const reduction = cStruct('ec_reduction', `${ctx.opName}_reduction`, {
    kept: walkFields(loops(false), where(ctx, op)),
    reduced: walkFields(loops(true), where(ctx, op)),
    count: cInt(p.count),
  });
  const [input, output] = [ctx.pointer(op.inputs[0]), ctx.pointer(op.outputs[0])];
  if (!q || q.dtype === 'float32') {
    const kernel = `ec_${op.kind}_${p.dtype === 'int8' ? 's8' : 'f32'}`;
    return { declarations: [reduction], statements: [`${kernel}(&${ctx.opName}_reduction, ${input}, ${output});`], kernel };
  }
  const params = cStruct('ec_mean_s8_params', `${ctx.opName}_params`, {
    input_zero_point: cInt(q.inputZeroPoint),
    output_zero_point: cInt(q.outputZeroPoint),
    multiplier: cInt(q.multiplier),
    shift: cInt(q.shift),
  });
  return {
    declarations: [reduction, params],
    statements: [`ec_mean_s8(&${ctx.opName}_reduction, &${ctx.opName}_params, ${input}, ${output});`],
    kernel: 'ec_mean_s8',
  };
}

/** The requantize kernel of an int16 input, by output type. */
const REQUANTIZE_S16: Partial<Record<string, string>> = { int8: 'ec_requantize_s16_s8', int16: 'ec_requantize_s16_s16', int32: 'ec_requantize_s16_s32' };

function quantize(ctx: EmitContext, op: UnaryOp): OpCode {
  const p = lowerQuantize(ctx.graph, op);
  const input = ctx.graph.tensors[op.inputs[0]];
  const output = ctx.graph.tensors[op.outputs[0]];
  if (p.mode === 'requantize' && input.dtype === 'int16') {
    const kernel = REQUANTIZE_S16[output.dtype];
    if (!kernel) throw modelError(`${where(ctx, op)}: no kernel requantizes int16 to ${output.dtype}`);
    const params = cStruct('ec_requantize_s16_params', `${ctx.opName}_params`, {
      input_zero_point: cInt(p.inputZeroPoint),
      output_zero_point: cInt(p.outputZeroPoint),
      multiplier: cInt(p.multiplier),
      shift: cInt(p.shift),
      min: cInt(p.min),
      max: cInt(p.max),
    });
    return {
      declarations: [params],
      statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])}, ${numel(output.shape)});`],
      kernel,
    };
  }
  if (p.mode === 'requantize') return emitLookup(ctx, op);
  const suffix = QUANTIZE_SUFFIX[output.dtype];
  if (!suffix) throw modelError(`${where(ctx, op)}: no kernel quantizes float32 to ${output.dtype} (int8 and int16 only)`);
  return affineKernel(ctx, op, `ec_quantize_${suffix}`, `ec_quantize_${suffix}_params`, p);
}

const QUANTIZE_SUFFIX: Partial<Record<string, string>> = { int8: 's8', int16: 's16' };

/** A float32 <-> integer conversion by scale and zero point over every element. */
function affineKernel(ctx: EmitContext, op: UnaryOp, kernel: string, struct: string, p: { scale: number; zeroPoint: number }): OpCode {
  const params = cStruct(struct, `${ctx.opName}_params`, { scale: cFloat(p.scale), zero_point: cInt(p.zeroPoint) });
  return {
    declarations: [params],
    statements: [`${kernel}(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])}, ${numel(ctx.graph.tensors[op.outputs[0]].shape)});`],
    kernel,
  };
}

/** int8 and uint8 through a table of their 256 values; int16 by its own kernel (65,536 would not pay). */
function dequantize(ctx: EmitContext, op: UnaryOp): OpCode {
  if (ctx.graph.tensors[op.inputs[0]].dtype !== 'int16') return emitLookup(ctx, op);
  return affineKernel(ctx, op, 'ec_dequantize_s16', 'ec_dequantize_s16_params', lowerDequantize(ctx.graph, op));
}

export const dataEmitter: OpEmitter = {
  emit(ctx: EmitContext, op: Op): OpCode {
    switch (op.kind) {
      case 'reshape':
      case 'squeeze':
        return reshape(ctx, op);
      case 'pad':
        return pad(ctx, op);
      case 'concatenation':
      case 'pack':
        return concatenation(ctx, op);
      case 'strided_slice':
      case 'transpose':
      case 'space_to_depth':
      case 'depth_to_space':
        return move(ctx, op);
      case 'gather':
        return gather(ctx, op);
      case 'resize_nearest':
        return resizeNearest(ctx, op);
      case 'resize_bilinear':
        return resizeBilinear(ctx, op);
      case 'arg_max':
      case 'arg_min':
        return argMinMax(ctx, op);
      case 'mean':
      case 'sum':
      case 'reduce_max':
        return mean(ctx, op);
      case 'quantize':
        return quantize(ctx, op);
      case 'dequantize':
        return dequantize(ctx, op);
      default:
        throw modelError(`${where(ctx, op)}: ${op.kind} is not a data-movement op`);
    }
  },
  scratchBytes: () => 0,
};
