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
   * report prints them), or 'auto' for those AUTO_SHARE of the int8 report flags.
   */
  int16Layers?: string[] | 'auto';
}

/**
 * 'auto' takes this share (rounded up, at least one) of the layers that compute new values with a
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
    for (const k of flaggedLayers(graph, report)) chosen.add(k);
  } else {
    for (const name of layers ?? []) chosen.add(layerIndex(graph, name));
    checkInt16Layers(graph, chosen);
  }
  return chosen;
}

/** The layers 'auto' picks from the int8 model's per-layer report (see AUTO_SHARE). */
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
