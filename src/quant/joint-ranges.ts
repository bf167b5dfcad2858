// Ranges of ADD and CONCATENATION inputs chosen together with their output's, instead of each
// tensor on its own:
//
// CONCATENATION: TFLite Micro's kernel only copies bytes, so an input quantized differently from
// the output gets a QUANTIZE op in front that rescales it to the output's parameters. Giving such
// an input the output's range in the first place removes that op and its extra rounding, and costs
// nothing: its values end up at the output's scale either way.
//
// ADD: the output clamps to its own range (and a fused ReLU clamps at 0), so part of an input's
// range can never reach the output: with the other input in [lo_b, hi_b] and the output in
// [lo, hi], input a only matters inside [lo - hi_b, hi - lo_b]; beyond that the sum clamps
// whatever a is. Narrowing a's range to that interval (b's likewise, both against the other's
// un-narrowed range) changes no output value and gives a finer scale. A residual branch before an
// ADD + ReLU is where this applies: its large negative values are cut by the ReLU anyway. Exact in
// float, a small gain at the ADD itself, but not always at the model's output: on the bench zoo's
// ResNet-8 (two of its ADD inputs' ranges 12% narrower) the logits lost 2.6 dB on the calibration
// samples, and 2.8 dB with bias correction on top on held-out ones; a new scale moves the mean
// shifts of the layers after it, which an average pool keeps. ptq's auto mode judges it per model.
//
// Either way an input's range is only changed where the tensor feeds nothing else, so no other
// reader pays for it. The range that sets a tensor's int8 parameters may sit upstream, behind ops
// whose output keeps their input's quantization (pooling, reshape, padding): that is the one
// changed.

import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { readersOf } from '../passes/graph-edit.ts';
import { type Affine, affineFromRange } from './params.ts';
import { FIXED_OUTPUT } from './quantize.ts';
import type { Range } from './range.ts';

export interface JointRanges {
  ranges: Map<number, Range>;
  /** The ADD and CONCATENATION ops (float graph indices) whose inputs' ranges changed. */
  ops: number[];
}

export function jointRanges(graph: Graph, ranges: Map<number, Range>): JointRanges {
  const result = new Map(ranges);
  const readers = readersOf(graph);
  const producer = new Map(graph.ops.map((op, k) => [op.outputs[0], k]));
  const changed = new Set<number>();

  /**
   * The tensor whose range sets `t`'s int8 parameters, if it feeds only the chain down to `t` (so
   * its range is free to change). `clipping`: only through ops that commute with clipping their
   * input (not an average pool: the mean of clipped values is not the clipped mean).
   */
  const ownRange = (t: number, clipping: boolean): number | undefined => {
    for (;;) {
      if (readers[t].length !== 1 || graph.outputs.includes(t)) return undefined;
      const k = producer.get(t);
      if (k === undefined) return graph.inputs.includes(t) ? t : undefined;
      const op = graph.ops[k];
      if (FIXED_OUTPUT[op.kind] || opTraits(op).copiesInputs) return undefined;
      if (!opTraits(op).keepsInputQuantization) return t;
      if (clipping && op.kind === 'avg_pool2d') return undefined;
      t = op.inputs[0];
    }
  };
  /** The real interval `t`'s int8 values can take, with the parameters the quantizer will give it. */
  const int8Range = (t: number): Range | undefined => {
    for (;;) {
      const k = producer.get(t);
      const op = k === undefined ? undefined : graph.ops[k];
      if (op && FIXED_OUTPUT[op.kind]) return representable(FIXED_OUTPUT[op.kind]!);
      if (op && opTraits(op).copiesInputs) return undefined;
      if (!op || !opTraits(op).keepsInputQuantization) {
        const range = result.get(t);
        return range && representable(affineFromRange(range, graph.tensors[t].name));
      }
      t = op.inputs[0];
    }
  };
  const narrow = (k: number, t: number, range: Range) => {
    const [lo, hi] = result.get(t)!;
    const next: Range = [Math.max(lo, range[0]), Math.min(hi, range[1])];
    if (next[0] === lo && next[1] === hi) return;
    result.set(t, next);
    changed.add(k);
  };

  // Latest first: narrowing an ADD's inputs can narrow an earlier ADD's output, which its own inputs then follow.
  for (let k = graph.ops.length - 1; k >= 0; k--) {
    const op = graph.ops[k];
    if (op.kind === 'add' && op.inputs[0] !== op.inputs[1]) {
      const out = int8Range(op.outputs[0]);
      const sides = op.inputs.map(int8Range);
      if (!out || sides.some((s) => !s)) continue;
      op.inputs.forEach((t, i) => {
        const own = ownRange(t, true);
        const [lo, hi] = sides[1 - i]!;
        if (own !== undefined) narrow(k, own, [out[0] - hi, out[1] - lo]);
      });
    } else if (opTraits(op).copiesInputs) {
      const out = result.get(op.outputs[0]);
      if (!out) continue;
      for (const t of op.inputs) {
        const own = ownRange(t, false);
        if (own === undefined || sameRange(result.get(own), out)) continue;
        result.set(own, out);
        changed.add(k);
      }
    }
  }
  return { ranges: result, ops: [...changed].sort((a, b) => a - b) };
}

/** Every real value an int8 tensor with these parameters can hold. */
const representable = ({ scale, zeroPoint }: Affine): Range => [scale * (-128 - zeroPoint), scale * (127 - zeroPoint)];

const sameRange = (a: Range | undefined, b: Range) => a !== undefined && a[0] === b[0] && a[1] === b[1];
