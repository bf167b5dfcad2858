// The front half of the flow as one call: a model file, through the graph passes, to the graph
// that code generation takes: int8 when calibration data is given, else as the model is.

import { runFloat } from './float/run.ts';
import { dequantizeGraph, isQuantizedGraph } from './import/float-graph.ts';
import { loadModel } from './import/index.ts';
import { usageError } from './ir/errors.ts';
import type { Graph } from './ir/types.ts';
import { runPasses } from './passes/index.ts';
import type { ActivationSource } from './quant/activations.ts';
import { loadCalibrationData, type LoadOptions } from './quant/calibrate.ts';
import type { ObserverOptions } from './quant/observers.ts';
import { int16Ops, needsInt8Report, type PrecisionRequest } from './quant/precision.ts';
import { ptq, type PtqResult, type PtqTechniques } from './quant/ptq.ts';
import type { LayerError } from './quant/report.ts';
import { createExecutor } from './ref/execute.ts';

export interface QuantizeRequest extends LoadOptions, PrecisionRequest {
  /** .npy, .npz or a folder of PNG images. */
  calib: string;
  observer?: ObserverOptions;
  /** int8 (default) or float inputs and outputs, with QUANTIZE/DEQUANTIZE at the edges. */
  io?: 'int8' | 'float';
  /** Equalization, joint ranges, bias correction (each 'auto' by default), weight rounding. */
  techniques?: PtqTechniques;
  /** A model that is quantized already is turned back into float (weights dequantized) and quantized again. */
  requantize?: boolean;
}

export interface QuantizeResult {
  floatGraph: Graph;
  graph: Graph;
  samples: number;
  /** Each quantized layer against its float layer on the calibration data, with the type of its activations. */
  layers: LayerError[];
  /** The activations asked for: with int16, the int8 layers are those without a 16x8 kernel. */
  activations: 'int8' | 'int16';
  /** What the techniques did: per layer, and the output SQNR and agreement before and after. */
  ptq: Pick<PtqResult, 'applied' | 'decisions' | 'baseline' | 'outputSqnrDb' | 'agreement' | 'agreementRows'>;
}

const floatActivations: ActivationSource = (graph, inputs, keep) => runFloat(graph, inputs, { keep });

/** No quantized tensor, no QUANTIZE or DEQUANTIZE (an int8 model with float inputs and outputs is not float). */
export function isFloatGraph(graph: Graph): boolean {
  return !isQuantizedGraph(graph);
}

/**
 * The graph calibration runs on: a float graph as it is; a quantized one only when the user asked
 * to re-quantize it, as the float graph it approximates (the passes again, for what
 * QUANTIZE/DEQUANTIZE hid from them).
 */
export function floatGraphFor(graph: Graph, requantize = false): Graph {
  if (isFloatGraph(graph)) return graph;
  if (!requantize) {
    throw usageError(
      `${graph.name} is already quantized; --calib applies to float models only (add --requantize to turn its int8 weights back into float and quantize it again from the calibration data)`,
    );
  }
  return runPasses(dequantizeGraph(graph));
}

/** Full-integer quantization of a float graph (or of a quantized one, with `requantize`), calibrated on the user's data. */
export async function quantizeModel(model: Graph, request: QuantizeRequest): Promise<QuantizeResult> {
  const floatGraph = floatGraphFor(model, request.requantize);
  const data = await loadCalibrationData(request.calib, floatGraph, request);
  const quantize = (int16: Set<number>) =>
    ptq(floatGraph, data, { observer: request.observer, io: request.io, techniques: request.techniques, int16, runner: createExecutor, source: floatActivations });
  // 'auto' picks its int16 layers from the report of the model without them.
  const first = needsInt8Report(request) ? await quantize(int16Ops(floatGraph, { ...request, int16Layers: undefined })) : undefined;
  const result = await quantize(int16Ops(floatGraph, request, first?.layers));
  const { applied, decisions, baseline, outputSqnrDb, agreement, agreementRows } = result;
  return {
    floatGraph: result.floatGraph,
    graph: result.graph,
    samples: data.count,
    layers: result.layers,
    activations: request.activations ?? 'int8',
    ptq: { applied, decisions, baseline, outputSqnrDb, agreement, agreementRows },
  };
}

/** Loads a model and runs the graph passes; quantizes it when `quantize` is given. */
export async function prepareModel(path: string, quantize?: QuantizeRequest): Promise<{ graph: Graph; quantized?: QuantizeResult }> {
  const graph = runPasses(await loadModel(path));
  if (!quantize) return { graph };
  const quantized = await quantizeModel(graph, quantize);
  return { graph: quantized.graph, quantized };
}
