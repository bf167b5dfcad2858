// The front half of the flow as one call: a model file, through the graph passes, to the graph
// that code generation takes: int8 when calibration data is given, else as the model is.

import { runFloat } from './float/run.ts';
import { loadModel } from './import/index.ts';
import { usageError } from './ir/errors.ts';
import type { Graph } from './ir/types.ts';
import { runPasses } from './passes/index.ts';
import type { ActivationSource } from './quant/activations.ts';
import { loadCalibrationData, type LoadOptions } from './quant/calibrate.ts';
import type { ObserverOptions } from './quant/observers.ts';
import { quantizeGraph } from './quant/quantize.ts';
import { recordRanges } from './quant/record.ts';
import { compareLayers, type LayerError } from './quant/report.ts';
import { createExecutor } from './ref/execute.ts';

export interface QuantizeRequest extends LoadOptions {
  /** .npy, .npz or a folder of PNG images. */
  calib: string;
  observer?: ObserverOptions;
  /** int8 (default) or float inputs and outputs, with QUANTIZE/DEQUANTIZE at the edges. */
  io?: 'int8' | 'float';
  /** Compare every int8 layer with its float layer on the calibration data. */
  report?: boolean;
}

export interface QuantizeResult {
  floatGraph: Graph;
  graph: Graph;
  samples: number;
  layers?: LayerError[];
}

const floatActivations: ActivationSource = (graph, inputs, keep) => runFloat(graph, inputs, { keep });

export function isFloatGraph(graph: Graph): boolean {
  return graph.inputs.some((t) => graph.tensors[t].dtype === 'float32') || graph.ops.some((op) => graph.tensors[op.outputs[0]].dtype === 'float32');
}

/** Full-integer quantization of a float graph, calibrated on the user's data. */
export async function quantizeModel(floatGraph: Graph, request: QuantizeRequest): Promise<QuantizeResult> {
  if (!isFloatGraph(floatGraph)) {
    throw usageError(`${floatGraph.name} is already quantized; --calib applies to float models only`);
  }
  const data = await loadCalibrationData(request.calib, floatGraph, request);
  const ranges = await recordRanges(floatGraph, data, floatActivations, { observer: request.observer });
  const graph = quantizeGraph(floatGraph, ranges, { io: request.io });
  const layers = request.report ? await compareLayers(floatGraph, graph, data, floatActivations, createExecutor) : undefined;
  return { floatGraph, graph, samples: data.count, layers };
}

/** Loads a model and runs the graph passes; quantizes it when `quantize` is given. */
export async function prepareModel(path: string, quantize?: QuantizeRequest): Promise<{ graph: Graph; quantized?: QuantizeResult }> {
  const graph = runPasses(await loadModel(path));
  if (!quantize) return { graph };
  const quantized = await quantizeModel(graph, quantize);
  return { graph: quantized.graph, quantized };
}
