// Quantized storage back to float32: the one place where a model's int8 (or float16) numbers
// become the float graph they stand for. Two callers:
// - the TFLite importer, for what the converter writes without full-integer quantization:
//   dynamic-range models (float activations, int8 weights with scales, read by the op itself or
//   through a DEQUANTIZE) and float16 models (float16 constants, decoded on import, behind
//   DEQUANTIZE). `foldConstantQuantization` leaves a plain float graph and does not touch
//   full-int8 parts, which keep their quantization;
// - `--requantize`: `dequantizeGraph` turns a full-int8 model into the float graph it
//   approximates (weights and biases dequantized, QUANTIZE/DEQUANTIZE dropped, int8 or uint8
//   inputs and outputs float32), to be quantized again from calibration data.

import { numel } from '../ir/dtype.ts';
import { compact } from '../ir/compact.ts';
import type { Graph, Op, Tensor } from '../ir/types.ts';

/**
 * A constant as float32: scale * (q - zeroPoint) per channel along the quantized axis, the product
 * in double and rounded once to float32, as TFLite's DEQUANTIZE computes it. Tensors that are not
 * quantized constants come back unchanged.
 */
export function dequantizeConstant(tensor: Tensor): Tensor {
  const { data, quant } = tensor;
  if (!data || !quant || tensor.dtype === 'float32') return tensor;
  const channels = quant.scale.length;
  // Parameters that do not fit the tensor stay as they are, for the graph verifier to report.
  if (quant.zeroPoint.length !== channels || (channels > 1 && tensor.shape[quant.axis] !== channels)) return tensor;
  const inner = numel(tensor.shape.slice(quant.axis + 1));
  const values = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    values[i] = quant.scale[c] * (Number(data[i]) - quant.zeroPoint[c]);
  }
  return { name: tensor.name, shape: [...tensor.shape], dtype: 'float32', data: values };
}

/** Whether any integer tensor carries quantization parameters or any op converts between float and integers. */
export function isQuantizedGraph(graph: Graph): boolean {
  return graph.tensors.some((t) => t.quant && t.dtype !== 'float32') || graph.ops.some((op) => op.kind === 'quantize' || op.kind === 'dequantize');
}

/**
 * Dynamic-range and float16 models as plain float graphs: every quantized constant that a float op
 * reads, and every constant behind a DEQUANTIZE, becomes float32, and those DEQUANTIZE ops go.
 * An op is float when it writes float32 (DEQUANTIZE aside, whose input is integer by definition).
 */
export function foldConstantQuantization(graph: Graph): Graph {
  const isConstantDequantize = (op: Op) => op.kind === 'dequantize' && graph.tensors[op.inputs[0]].data !== undefined;
  const toFloat = new Set<number>();
  for (const op of graph.ops) {
    if (isConstantDequantize(op)) toFloat.add(op.inputs[0]);
    else if (op.kind !== 'dequantize' && graph.tensors[op.outputs[0]].dtype === 'float32') {
      for (const t of op.inputs) if (graph.tensors[t].data) toFloat.add(t);
    }
  }
  if (toFloat.size === 0) return graph;
  const tensors = graph.tensors.map((t, i) => (toFloat.has(i) ? dequantizeConstant(t) : t));
  return bypass({ ...graph, tensors }, isConstantDequantize);
}

/**
 * A quantized model as the float graph it approximates: quantized constants dequantized, quantized
 * activations float32 without parameters, QUANTIZE and DEQUANTIZE (edges and requantizations
 * inside) removed.
 */
export function dequantizeGraph(graph: Graph): Graph {
  const tensors = graph.tensors.map((t): Tensor => {
    if (!t.quant) return t;
    return t.data ? dequantizeConstant(t) : { name: t.name, shape: [...t.shape], dtype: 'float32' };
  });
  return bypass({ ...graph, tensors }, (op) => op.kind === 'quantize' || op.kind === 'dequantize');
}

/**
 * The graph without the ops `drop` picks: their readers, and the graph outputs they wrote, take the
 * op's input instead. A graph output keeps its name (users and exported files know it by that),
 * unless the tensor taking its place is a graph input or output itself.
 */
function bypass(graph: Graph, drop: (op: Op) => boolean): Graph {
  const replaced = new Map<number, number>();
  const ops: Op[] = [];
  for (const op of graph.ops) {
    if (drop(op)) replaced.set(op.outputs[0], replaced.get(op.inputs[0]) ?? op.inputs[0]);
    else ops.push({ ...op, inputs: op.inputs.map((t) => replaced.get(t) ?? t) });
  }
  const tensors = [...graph.tensors];
  const outputs = graph.outputs.map((t) => {
    const kept = replaced.get(t) ?? t;
    if (kept !== t && !graph.inputs.includes(kept) && !graph.outputs.includes(kept)) tensors[kept] = { ...tensors[kept], name: tensors[t].name };
    return kept;
  });
  return compact({ ...graph, tensors, ops, outputs });
}

