// The code of a row-band fusion (src/plan/fusion.ts): the producer's own kernel called once per
// band of output rows on the window of that band, each band summed into the fully-connected consumer's int32
// accumulators (ec_fully_connected_sum_s8), which the consumer's step then requantizes.

import type { FullyConnectedOp, Graph, Op } from '../../ir/types.ts';
import { lowerConv2D, lowerDepthwiseConv2D } from '../../lower/conv.ts';
import { lowerFullyConnected } from '../../lower/fully_connected.ts';
import type { RowFusion } from '../../plan/fusion.ts';
import { cInt } from '../c-syntax.ts';
import type { EmitContext, OpCode } from '../emitter.ts';
import { cStruct } from './c-struct.ts';
import { outputFields, absRowSums } from './nn.ts';

/** Whether the consumer's side of a fusion applies: an int8 fully-connected layer. */
export function sumsRows(graph: Graph, consumer: Op): boolean {
  return consumer.kind === 'fully_connected' && lowerFullyConnected(graph, consumer).dtype === 'int8';
}

/** The consumer's parameters (file scope, so the producer's step, which runs first, can use them too). */
function sumParams(ctx: EmitContext, op: FullyConnectedOp): string {
  const p = lowerFullyConnected(ctx.graph, op);
  if (p.dtype !== 'int8') throw new Error('unreachable: sumsRows checked the dtype');
  const weights = ctx.graph.tensors[op.inputs[1]].data as ArrayLike<number>;
  return cStruct('ec_fully_connected_sum_s8_params', `${ctx.opName}_sum`, {
    depth: cInt(p.depth),
    units: cInt(p.units),
    weights: ctx.pointer(op.inputs[1]),
    input_zero_point: cInt(-p.inputOffset),
    output: outputFields(ctx, op, p, absRowSums(weights, p.units)),
  });
}

/**
 * The producer's step: `own` is the code its emitter wrote for the whole layer (a params struct
 * with an ec_window, and one kernel call); the same kernel runs on a copy whose window is one band of
 * output rows, with the input rows above that band's window cut off (as padding rows, where the window
 * starts in the padding).
 */
export function fusedProducer(ctx: EmitContext, op: Op, fusion: RowFusion, own: OpCode, consumerName: string, accumulators: string, scratch?: string): OpCode {
  const m = /^static const (\w+) (\w+) = /.exec(own.declarations[0] ?? '');
  if (!m || own.statements.length !== 1) throw new Error(`op ${fusion.producer}: its kernel ${own.kernel} cannot run row by row`);
  const [, paramsType, paramsName] = m;
  if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d') throw new Error(`op ${fusion.producer}: a ${op.kind} cannot run row by row`);
  const g = op.kind === 'conv2d' ? lowerConv2D(ctx.graph, op) : lowerDepthwiseConv2D(ctx.graph, op);
  const inRow = g.inWidth * g.inChannels;
  const input = ctx.pointer(op.inputs[0]);
  const row = ctx.pointer(op.outputs[0]);
  const args = [`&band`, `${input} + skip * ${inRow}`, row, ...(scratch ? [scratch] : [])];
  const { rows, rowBytes, bandRows } = fusion;
  // A constant band height unless the last band is shorter.
  const height = rows % bandRows === 0 ? `${bandRows}` : `(${rows} - y < ${bandRows} ? ${rows} - y : ${bandRows})`;
  const what = bandRows === 1 ? `One output row at a time (${rowBytes} bytes)` : `${bandRows} output rows at a time (${rowBytes} bytes each)`;
  return {
    kernel: `${own.kernel}, ${bandRows === 1 ? 'row by row' : `${bandRows} rows at a time`} into ec_fully_connected_sum_s8`,
    declarations: own.declarations,
    statements: [
      '{',
      `    /* ${what}, summed into op ${fusion.consumer}'s accumulators. */`,
      `    ${paramsType} band = ${paramsName};`,
      ...(rows % bandRows === 0 ? [`    band.window.out_height = ${bandRows};`] : []),
      `    ec_fully_connected_sum_begin_s8(&${consumerName}_sum, ${accumulators});`,
      `    for (int32_t y = 0; y < ${rows}; y += ${bandRows}) {`,
      `        /* The window's first input row (negative: in the padding), and the input rows above it no longer needed. */`,
      `        const int32_t top = y * ${g.strideH} - ${g.padTop};`,
      '        const int32_t skip = top < 0 ? 0 : top;',
      ...(rows % bandRows === 0 ? [] : [`        band.window.out_height = ${height};`]),
      '        band.window.pad_top = skip - top;',
      `        band.window.in_height = ${g.inHeight} - skip;`,
      `        ${own.kernel}(${args.join(', ')});`,
      `        ec_fully_connected_sum_s8(&${consumerName}_sum, ${row}, y * ${rowBytes}, band.window.out_height * ${rowBytes}, ${accumulators});`,
      '    }',
      '}',
    ],
  };
}

/** The consumer's step: its accumulators hold the whole sum. */
export function fusedConsumer(ctx: EmitContext, op: FullyConnectedOp, accumulators: string): OpCode {
  return {
    kernel: 'ec_fully_connected_sum_end_s8',
    declarations: [sumParams(ctx, op)],
    statements: [`ec_fully_connected_sum_end_s8(&${ctx.opName}_sum, ${accumulators}, ${ctx.pointer(op.outputs[0])});`],
  };
}
