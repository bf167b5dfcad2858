// Ops of one 8-bit input as lookup tables: such an op has only 256 possible inputs, so running the
// host reference on every one of them gives a table that is bit-exact with it by construction,
// and the device does one load per element.

import { numel } from '../../ir/dtype.ts';
import { modelError } from '../../ir/errors.ts';
import type { Graph, Op } from '../../ir/types.ts';
import { describeOp } from '../../ir/verify.ts';
import { executeGraph } from '../../ref/execute.ts';
import type { CType } from '../c-syntax.ts';
import type { EmitContext, OpCode } from '../emitter.ts';

const TABLE_CTYPE: Record<string, CType> = { int8: 'int8_t', uint8: 'uint8_t', int16: 'int16_t', float32: 'float' };

/** The kernel by table type: the 8-bit ones share ec_lookup_s8 (uint8 through the same bytes). */
const LOOKUP_KERNEL: Partial<Record<CType, string>> = { int8_t: 'ec_lookup_s8', uint8_t: 'ec_lookup_s8', int16_t: 'ec_lookup_s8_s16', float: 'ec_lookup_s8_f32' };

/**
 * The op's output for each input byte, in the runtime's table order: entry k is the input whose
 * bits read as the int8 value k - 128 (for a uint8 input, the byte (k + 128) mod 256).
 */
export function tabulate(graph: Graph, op: Op): number[] {
  const input = graph.tensors[op.inputs[0]];
  const output = graph.tensors[op.outputs[0]];
  const codes = Int8Array.from({ length: 256 }, (_, k) => k - 128);
  const single: Graph = {
    name: `${graph.name}: table of ${op.kind}`,
    tensors: [
      { ...input, shape: [256], data: undefined },
      { ...output, shape: [256], data: undefined },
    ],
    ops: [{ ...op, inputs: [0], outputs: [1] } as Op],
    inputs: [0],
    outputs: [1],
  };
  const samples = input.dtype === 'uint8' ? new Uint8Array(codes.buffer) : codes;
  return Array.from(executeGraph(single, [samples])[0] as ArrayLike<number>);
}

/** ec_lookup_s8 (8-bit out), ec_lookup_s8_s16 (int16 out) or ec_lookup_s8_f32 (float out) with the op's table. */
export function emitLookup(ctx: EmitContext, op: Op): OpCode {
  const { graph } = ctx;
  const index = graph.ops.indexOf(op);
  const input = graph.tensors[op.inputs[0]];
  const output = graph.tensors[op.outputs[0]];
  const ctype = TABLE_CTYPE[output.dtype];
  if ((input.dtype !== 'int8' && input.dtype !== 'uint8') || !ctype) {
    throw modelError(`${describeOp(op, index)}: no ${op.kind} kernel from ${input.dtype} to ${output.dtype}`);
  }
  const table = ctx.constant(
    'table',
    ctype,
    tabulate(graph, op),
    `op ${index} ${op.kind}: entry k is the output for input bits k - 128 (as int8), computed by the host reference: bit-exact by construction`,
  );
  const count = numel(output.shape);
  // The kernel indexes by the input's bits read as int8; uint8 data goes through the same bytes.
  const bytes = (pointer: string, dtype: string, qualifier: string) => (dtype === 'uint8' ? `(${qualifier}int8_t *)${pointer}` : pointer);
  const kernel = LOOKUP_KERNEL[ctype]!;
  const tableArg = bytes(table, output.dtype, 'const ');
  const outputArg = bytes(ctx.pointer(op.outputs[0]), output.dtype, '');
  return {
    declarations: [],
    statements: [`${kernel}(${tableArg}, ${bytes(ctx.pointer(op.inputs[0]), input.dtype, 'const ')}, ${outputArg}, ${count});`],
    kernel,
  };
}
