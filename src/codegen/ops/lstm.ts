// UNIDIRECTIONAL_SEQUENCE_LSTM: one call of ec_lstm_s8, ec_lstm_s16 or ec_lstm_f32 per inference, with the
// Prepare-time constants of src/lower/lstm.ts. The hidden and cell states are static arrays of
// the model source, outside the arena, so they persist from one invoke to the next; the model's
// reset function sets them to what TFLite Micro's Reset() writes.

import type { Graph, LstmOp, Op } from '../../ir/types.ts';
import { LSTM_GATES, SIGMOID_TABLE_Q16, type LstmParams, lowerLstm } from '../../lower/lstm.ts';
import { cFloat, cInitializer, cInt } from '../c-syntax.ts';
import { type CFields, cStruct } from './c-struct.ts';
import type { EmitContext, OpCode, OpEmitter } from '../emitter.ts';

const asLstm = (op: Op) => op as LstmOp;

export const lstmEmitter: OpEmitter = {
  emit: (ctx, op) => emitLstm(ctx, asLstm(op)),
  scratchBytes: (graph: Graph, op: Op) => {
    const p = lowerLstm(graph, asLstm(op));
    return 4 * p.units * (p.dtype === 'float32' ? 4 : 2);
  },
};

const shapeFields = (p: LstmParams): CFields => ({
  batch: cInt(p.batch),
  steps: cInt(p.steps),
  input_size: cInt(p.inputSize),
  units: cInt(p.units),
  time_major: p.timeMajor ? '1' : '0',
});

function emitLstm(ctx: EmitContext, op: LstmOp): OpCode {
  const p = lowerLstm(ctx.graph, op);
  const name = ctx.opName;
  const size = p.batch * p.units;
  const [hiddenType, cellType] = p.dtype === 'float32' ? ['float', 'float'] : [p.dtype === 'int8' ? 'int8_t' : 'int16_t', 'int16_t'];
  const hiddenReset = p.dtype === 'float32' ? 0 : p.hiddenZeroPoint;
  // Zero-initialised storage is already the reset state, except an int8 hidden state's zero point.
  const hiddenInit = hiddenReset !== 0 ? ` = {\n${cInitializer(new Array<number>(size).fill(hiddenReset), 'int8_t')}\n}` : '';
  const state = [
    `/* op ${ctx.graph.ops.indexOf(op)}: the LSTM's hidden and cell state, carried from one invoke to the next (outside the arena). */`,
    `static ${hiddenType} ${name}_hidden[${size}]${hiddenInit};`,
    `static ${cellType} ${name}_cell[${size}];`,
  ];
  const reset = [
    hiddenReset !== 0 ? `memset(${name}_hidden, ${cInt(hiddenReset)}, sizeof ${name}_hidden);` : `memset(${name}_hidden, 0, sizeof ${name}_hidden);`,
    `memset(${name}_cell, 0, sizeof ${name}_cell);`,
  ];
  const weights = (g: number) => ctx.pointer(op.inputs[1 + g]);
  const recurrent = (g: number) => ctx.pointer(op.inputs[5 + g]);
  let params: string;
  let kernel: string;
  if (p.dtype !== 'float32') {
    const int8 = p.dtype === 'int8';
    kernel = int8 ? 'ec_lstm_s8' : 'ec_lstm_s16';
    const gates = p.gates.map((g, i): CFields => {
      const gate = LSTM_GATES[i];
      const requants = {
        input_multiplier: cInt(g.inputRequant.multiplier),
        input_shift: cInt(g.inputRequant.shift),
        recurrent_multiplier: cInt(g.recurrentRequant.multiplier),
        recurrent_shift: cInt(g.recurrentRequant.shift),
      };
      if (!int8) return { weights: weights(i), recurrent_weights: recurrent(i), bias: ctx.constant(`${gate}_gate_bias`, 'int64_t', g.inputBias, `${gate} gate: bias, as int64`), ...requants };
      return {
        weights: weights(i),
        recurrent_weights: recurrent(i),
        input_bias: ctx.constant(`${gate}_gate_bias`, 'int32_t', g.inputBias, `${gate} gate: bias with the input zero point folded in`),
        recurrent_bias: ctx.constant(`${gate}_gate_recurrent_bias`, 'int32_t', g.recurrentBias!, `${gate} gate: the hidden zero point folded in`),
        ...requants,
      };
    });
    const table = ctx.constant('sigmoid_table', 'uint16_t', SIGMOID_TABLE_Q16, "TFLite's int16 sigmoid table, sigmoid(i / 24) in Q0.16");
    params = cStruct(`${kernel}_params`, `${name}_params`, {
      shape: shapeFields(p),
      gates,
      cell: {
        forget_multiplier: cInt(p.forgetMul.multiplier),
        forget_shift: cInt(p.forgetMul.shift),
        input_multiplier: cInt(p.inputMul.multiplier),
        input_shift: cInt(p.inputMul.shift),
        hidden_multiplier: cInt(p.hiddenMul.multiplier),
        hidden_shift: cInt(p.hiddenMul.shift),
        hidden_zero_point: cInt(p.hiddenZeroPoint),
        cell_clip: cInt(p.cellClip),
        cell_tanh_multiplier: cInt(p.cellTanh.multiplier),
        cell_tanh_shift: cInt(p.cellTanh.shift),
        sigmoid_table: table,
      },
    });
  } else {
    kernel = 'ec_lstm_f32';
    params = cStruct('ec_lstm_f32_params', `${name}_params`, {
      shape: shapeFields(p),
      weights: [0, 1, 2, 3].map(weights),
      recurrent_weights: [0, 1, 2, 3].map(recurrent),
      bias: [0, 1, 2, 3].map((g) => ctx.pointer(op.inputs[9 + g])),
      cell_clip: cFloat(p.cellClip),
    });
  }
  const args = [`&${name}_params`, ctx.pointer(op.inputs[0]), ctx.pointer(op.outputs[0]), `${name}_hidden`, `${name}_cell`, ctx.scratch()];
  return { declarations: [...state, params], statements: [`${kernel}(${args.join(', ')});`], kernel, reset };
}
