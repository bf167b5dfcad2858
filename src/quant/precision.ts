// Which layers get int16 activations (TFLite's 16x8 scheme) and which stay int8: every layer
// whose op has a 16x8 kernel, the layers a user names, or the layers the int8 per-layer report
// shows losing the most.

import { usageError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { checkInt16Layers } from './quantize.ts';
import type { LayerError } from './report.ts';

export interface PrecisionRequest {
  /** 'int16': every layer whose op has a 16x8 kernel; default 'int8'. */
  activations?: 'int8' | 'int16';
  /**
   * Layers given int16 activations on top: output tensor names or op indices (as the per-layer
   * report prints them), or 'auto' for the layers the int8 report flags (see autoLayers).
   */
  int16Layers?: string[] | 'auto';
}

/**
 * 'auto' flags this share (rounded up, at least one) of the layers that compute new values with a
 * 16x8 kernel (conv, depthwise conv, fully connected, add: not the reshapes, which only move
 * bytes), those with the lowest SQNR against float in the int8 model.
 */
export const AUTO_SHARE = 0.25;

/** Whether a precision request needs the int8 per-layer report to decide (int16Layers 'auto'). */
export const needsInt8Report = (request: PrecisionRequest) => request.int16Layers === 'auto';

/** The ops of `graph` (indices) with int16 activations; `report` is the int8 model's per-layer report when int16Layers is 'auto'. */
export function int16Ops(graph: Graph, request: PrecisionRequest, report?: LayerError[]): Set<number> {
  const activations = request.activations ?? 'int8';
  if (activations !== 'int8' && activations !== 'int16') throw usageError(`activations must be int8 or int16, got '${String(activations)}'`);
  const chosen = new Set<number>();
  if (activations === 'int16') graph.ops.forEach((op, k) => opTraits(op).int16Kernel && chosen.add(k));
  const layers = request.int16Layers;
  if (layers === 'auto') {
    if (!report) throw new Error('int16 layers auto: the int8 per-layer report is needed');
    for (const k of autoLayers(graph, report)) chosen.add(k);
  } else {
    for (const name of layers ?? []) chosen.add(layerIndex(graph, name));
    checkInt16Layers(graph, chosen);
  }
  return chosen;
}

/**
 * The layers 'auto' makes int16: the flagged ones, each with the layers after it that have a 16x8
 * kernel and read its output (and theirs, on to the first op without one). A 16x8 layer alone
 * gains nothing: its input comes requantized from int8 and its output goes back to int8 at once,
 * the same rounding as before (the Fashion-MNIST example on 500 calibration images, techniques
 * off: conv3 alone 40.17 dB output SQNR against 40.18 in int8; with the flatten and the dense
 * layer after it, 41.88).
 */
export function autoLayers(graph: Graph, report: LayerError[]): number[] {
  const chosen = new Set(flaggedLayers(graph, report));
  const readers = (k: number) => graph.ops.flatMap((op, j) => (j > k && opTraits(op).dataInputs(op).includes(graph.ops[k].outputs[0]) ? [j] : []));
  for (const k of [...chosen].sort((a, b) => a - b)) {
    const pending = [k];
    while (pending.length > 0) {
      for (const j of readers(pending.pop()!)) {
        if (opTraits(graph.ops[j]).int16Kernel && !chosen.has(j)) {
          chosen.add(j);
          pending.push(j);
        }
      }
    }
  }
  return [...chosen].sort((a, b) => a - b);
}

/** The layers the int8 model's per-layer report flags (see AUTO_SHARE), lowest SQNR first. */
export function flaggedLayers(graph: Graph, report: LayerError[]): number[] {
  const candidates = report.filter((l) => computesWith16x8(graph, l.op) && Number.isFinite(l.sqnrDb)).sort((a, b) => a.sqnrDb - b.sqnrDb || a.op - b.op);
  if (candidates.length === 0) return [];
  return candidates.slice(0, Math.max(1, Math.ceil(AUTO_SHARE * candidates.length))).map((l) => l.op);
}

const computesWith16x8 = (graph: Graph, k: number) => !!opTraits(graph.ops[k]).int16Kernel && !opTraits(graph.ops[k]).keepsInputQuantization;

/** An op by index (a whole number) or by the name of its output tensor. */
function layerIndex(graph: Graph, name: string): number {
  const text = name.trim();
  if (/^\d+$/.test(text)) {
    const k = Number(text);
    if (k >= graph.ops.length) throw usageError(`${graph.name}: no layer ${k}; its ops are numbered 0 to ${graph.ops.length - 1} (edgec quantize prints them)`);
    return k;
  }
  const k = graph.ops.findIndex((op) => graph.tensors[op.outputs[0]].name === text);
  if (k < 0) {
    const names = graph.ops.map((op) => graph.tensors[op.outputs[0]].name);
    throw usageError(`${graph.name}: no layer named '${text}'; layers are op indices or output tensor names: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', ...' : ''}`);
  }
  return k;
}
