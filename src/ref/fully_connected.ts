// FULLY_CONNECTED on the host, as TFLite Micro's reference kernels compute it: int8 and 16x8 with one
// multiplier (FullyConnected) or one per unit (FullyConnectedPerChannel), float32 accumulating
// in float32 along the row.

import { allocate } from '../ir/dtype.ts';
import type { FullyConnectedOp, Graph } from '../ir/types.ts';
import { type FullyConnectedParams, lowerFullyConnected } from '../lower/fully_connected.ts';
import type { FloatClamp, Int8Requant } from '../lower/requant.ts';
import { type Kernel, type QuantizedActivations, type QuantizedBias, clampFloat, requantizeAcc } from './kernel.ts';

const f32 = Math.fround;

type Int8Params = FullyConnectedParams & Int8Requant & { perChannel: boolean };

/** input rows x depth, weights units x depth, bias per unit; output rows x units. */
export function fullyConnectedQuantized(p: Int8Params, input: QuantizedActivations, weights: Int8Array, bias?: QuantizedBias): QuantizedActivations {
  const { rows, depth, units, inputOffset } = p;
  const out = allocate(p.dtype, rows * units) as QuantizedActivations;
  for (let r = 0; r < rows; r++) {
    const row = r * depth;
    for (let u = 0; u < units; u++) {
      const w = u * depth;
      let acc = 0;
      for (let d = 0; d < depth; d++) acc += weights[w + d] * (input[row + d] + inputOffset);
      if (bias) acc += Number(bias[u]);
      out[r * units + u] = requantizeAcc(p, acc, p.perChannel ? u : 0);
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
  if (p.dtype !== 'float32') return ([x, w, b]) => fullyConnectedQuantized(p, x as QuantizedActivations, w as Int8Array, b as QuantizedBias | undefined);
  return ([x, w, b]) => fullyConnectedFloat(p, x as Float32Array, w as Float32Array, b as Float32Array | undefined);
}
