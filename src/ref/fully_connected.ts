// FULLY_CONNECTED on the host, as TFLite Micro's reference kernels compute it: int8 with one
// multiplier (FullyConnected) or one per unit (FullyConnectedPerChannel), float32 accumulating
// in float32 along the row.

import type { FullyConnectedOp, Graph } from '../ir/types.ts';
import { type FullyConnectedParams, lowerFullyConnected } from '../lower/fully_connected.ts';
import type { FloatClamp, Int8Requant } from '../lower/requant.ts';
import { type Kernel, clampFloat, requantizeAcc } from './kernel.ts';

const f32 = Math.fround;

type Int8Params = FullyConnectedParams & Int8Requant & { perChannel: boolean };

/** input rows x depth, weights units x depth, bias per unit; output rows x units. */
export function fullyConnectedInt8(p: Int8Params, input: Int8Array, weights: Int8Array, bias?: Int32Array): Int8Array {
  const { rows, depth, units, inputOffset } = p;
  const out = new Int8Array(rows * units);
  for (let r = 0; r < rows; r++) {
    const row = r * depth;
    for (let u = 0; u < units; u++) {
      const w = u * depth;
      let acc = 0;
      for (let d = 0; d < depth; d++) acc += weights[w + d] * (input[row + d] + inputOffset);
      if (bias) acc += bias[u];
      const q = p.perChannel ? u : 0;
      out[r * units + u] = requantizeAcc(acc, p.outputMultiplier[q], p.outputShift[q], p.outputOffset, p.actMin, p.actMax);
    }
  }
  return out;
}

export function fullyConnectedFloat(p: FullyConnectedParams & FloatClamp, input: Float32Array, weights: Float32Array, bias?: Float32Array): Float32Array {
  const { rows, depth, units } = p;
  const out = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) {
    const row = r * depth;
    for (let u = 0; u < units; u++) {
      const w = u * depth;
      let total = 0;
      for (let d = 0; d < depth; d++) total = f32(total + f32(input[row + d] * weights[w + d]));
      out[r * units + u] = clampFloat(f32(total + (bias ? bias[u] : 0)), p.actMin, p.actMax);
    }
  }
  return out;
}

export function prepareFullyConnected(graph: Graph, op: FullyConnectedOp): Kernel {
  const p = lowerFullyConnected(graph, op);
  if (p.dtype === 'int8') return ([x, w, b]) => fullyConnectedInt8(p, x as Int8Array, w as Int8Array, b as Int32Array | undefined);
  return ([x, w, b]) => fullyConnectedFloat(p, x as Float32Array, w as Float32Array, b as Float32Array | undefined);
}
