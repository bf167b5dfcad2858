// UNIDIRECTIONAL_SEQUENCE_LSTM on the host as TFLite Micro's reference kernel (lstm_eval.h)
// computes it, in int8 and 16x8 (int16 gates and cell state either way) and float32. The hidden and cell states live
// in the kernel and carry over from one call to the next, as TFLite Micro's variable tensors do;
// reset() clears them to what TFLite Micro's interpreter Reset() writes (the hidden state's zero
// point, cell 0).

import { DTYPE_RANGE, allocate } from '../ir/dtype.ts';
import type { Graph, LstmOp, TensorData } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplier64 } from '../lower/fixedpoint.ts';
import type { Requantize } from '../lower/elementwise.ts';
import {
  GATE_TANH_INPUT,
  type LstmFloatParams,
  type LstmQuantizedParams,
  type LstmShape,
  int16Sigmoid,
  int16Tanh,
  lowerLstm,
  lstmStateSize,
} from '../lower/lstm.ts';
import { logisticFloat, tanhFloat } from './elementwise.ts';
import { type StatefulKernel, clampFloat } from './kernel.ts';

const f32 = Math.fround;
const FLT_MAX = f32(3.4028234663852886e38);
/** TFLite's float FC and MUL clamp to the float range when no activation is fused. */
const maxFloat = (v: number) => clampFloat(v, -FLT_MAX, FLT_MAX);
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const sat16 = (v: number) => clamp(v, -32768, 32767);
const requant = (acc: number, r: Requantize) => multiplyByQuantizedMultiplier(acc | 0, r.multiplier, r.shift);

/** Where step t of sequence b reads its input row and writes its output row (in rows). */
const rowOf = (s: LstmShape, b: number, t: number) => (s.timeMajor ? t * s.batch + b : b * s.steps + t);

type Activations = Int8Array | Int16Array;

/**
 * int16 pre-activation of one gate unit: the two products, each requantized to Q3.12 and
 * saturated, then their saturating sum. int8 sums in int32; 16x8 in int64 (exact here: every sum
 * stays far below 2^53) with the 64-bit requantization.
 */
function gateQuantized(p: LstmQuantizedParams, g: number, u: number, x: Activations, xAt: number, h: Activations, hAt: number, weights: Int8Array[]): number {
  const gate = p.gates[g];
  const w = weights[g];
  const r = weights[4 + g];
  let accX = gate.inputBias[u];
  for (let d = 0; d < p.inputSize; d++) accX += w[u * p.inputSize + d] * x[xAt + d];
  let accH = gate.recurrentBias?.[u] ?? 0;
  for (let d = 0; d < p.units; d++) accH += r[u * p.units + d] * h[hAt + d];
  const scale = (acc: number, by: Requantize) => (p.dtype === 'int16' ? multiplyByQuantizedMultiplier64(acc, by.multiplier, by.shift) : requant(acc, by));
  return sat16(sat16(scale(accX, gate.inputRequant)) + sat16(scale(accH, gate.recurrentRequant)));
}

export function lstmQuantized(p: LstmQuantizedParams): StatefulKernel {
  const [low, high] = DTYPE_RANGE[p.dtype]!;
  const hidden = allocate(p.dtype, lstmStateSize(p)) as Activations;
  const cell = new Int16Array(lstmStateSize(p));
  const reset = () => {
    hidden.fill(p.hiddenZeroPoint);
    cell.fill(0);
  };
  reset();
  const run = (inputs: TensorData[]) => {
    const x = inputs[0] as Activations;
    const weights = inputs.slice(1, 9) as Int8Array[];
    const out = allocate(p.dtype, p.batch * p.steps * p.units) as Activations;
    const gates = [new Int16Array(p.units), new Int16Array(p.units), new Int16Array(p.units), new Int16Array(p.units)];
    for (let t = 0; t < p.steps; t++) {
      for (let b = 0; b < p.batch; b++) {
        const xAt = rowOf(p, b, t) * p.inputSize;
        const s = b * p.units;
        // Every gate reads the hidden state of the previous step: compute all four before updating.
        for (let g = 0; g < 4; g++) {
          for (let u = 0; u < p.units; u++) {
            const pre = gateQuantized(p, g, u, x, xAt, hidden, s, weights);
            gates[g][u] = g === 2 ? int16Tanh(pre, GATE_TANH_INPUT) : int16Sigmoid(pre);
          }
        }
        const [i, f, c, o] = gates;
        for (let u = 0; u < p.units; u++) {
          const kept = sat16(requant(f[u] * cell[s + u], p.forgetMul));
          const added = sat16(requant(i[u] * c[u], p.inputMul));
          let next = sat16(kept + added);
          if (p.cellClip > 0) next = clamp(next, -p.cellClip, p.cellClip);
          cell[s + u] = next;
          const h = clamp(requant(int16Tanh(next, p.cellTanh) * o[u], p.hiddenMul) + p.hiddenZeroPoint, low, high);
          hidden[s + u] = h;
          out[rowOf(p, b, t) * p.units + u] = h;
        }
      }
    }
    return out;
  };
  return Object.assign(run, { reset });
}

/** float32 gate pre-activation: each product row summed in float32 in order, bias added, then the recurrent row (no bias) added. */
function gateFloat(p: LstmFloatParams, g: number, u: number, x: Float32Array, xAt: number, h: Float32Array, hAt: number, consts: Float32Array[]): number {
  const w = consts[g];
  const r = consts[4 + g];
  let totalX = 0;
  for (let d = 0; d < p.inputSize; d++) totalX = f32(totalX + f32(x[xAt + d] * w[u * p.inputSize + d]));
  let totalH = 0;
  for (let d = 0; d < p.units; d++) totalH = f32(totalH + f32(h[hAt + d] * r[u * p.units + d]));
  return f32(maxFloat(f32(totalX + consts[8 + g][u])) + maxFloat(f32(totalH + 0)));
}

export function lstmFloat(p: LstmFloatParams): StatefulKernel {
  const hidden = new Float32Array(lstmStateSize(p));
  const cell = new Float32Array(lstmStateSize(p));
  const reset = () => {
    hidden.fill(0);
    cell.fill(0);
  };
  const run = (inputs: TensorData[]) => {
    const x = inputs[0] as Float32Array;
    const consts = inputs.slice(1) as Float32Array[];
    const out = new Float32Array(p.batch * p.steps * p.units);
    const gates = [new Float32Array(p.units), new Float32Array(p.units), new Float32Array(p.units), new Float32Array(p.units)];
    for (let t = 0; t < p.steps; t++) {
      for (let b = 0; b < p.batch; b++) {
        const xAt = rowOf(p, b, t) * p.inputSize;
        const s = b * p.units;
        for (let g = 0; g < 4; g++) {
          for (let u = 0; u < p.units; u++) {
            const pre = gateFloat(p, g, u, x, xAt, hidden, s, consts);
            gates[g][u] = g === 2 ? tanhFloat(pre) : logisticFloat(pre);
          }
        }
        const [i, f, c, o] = gates;
        for (let u = 0; u < p.units; u++) {
          let next = f32(maxFloat(f32(f[u] * cell[s + u])) + maxFloat(f32(i[u] * c[u])));
          if (p.cellClip > 0) next = clampFloat(next, -p.cellClip, p.cellClip);
          cell[s + u] = next;
          const h = maxFloat(f32(tanhFloat(next) * o[u]));
          hidden[s + u] = h;
          out[rowOf(p, b, t) * p.units + u] = h;
        }
      }
    }
    return out;
  };
  return Object.assign(run, { reset });
}

export function prepareLstm(graph: Graph, op: LstmOp): StatefulKernel {
  const p = lowerLstm(graph, op);
  return p.dtype === 'float32' ? lstmFloat(p) : lstmQuantized(p);
}
