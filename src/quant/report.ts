// Per-layer accuracy of a quantized graph: every op's int8 output, dequantized, against the same
// op's float output on the same samples. The layer where SQNR drops (or cosine similarity falls
// away from 1) is the one that loses accuracy; later layers inherit its error.

import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import type { Graph, OpKind, TensorData } from '../ir/types.ts';
import { type ActivationSource, type CalibrationSet, forEachBatch, sliceSamples } from './activations.ts';
import { type ActivationDtype, affineOf, dequantizeValues, quantizeValues } from './params.ts';

export interface LayerError {
  /** Index of the op in the float graph. */
  op: number;
  kind: OpKind;
  origin?: string;
  /** Name of the op's output tensor. */
  tensor: string;
  /** The type the layer computes its output in: int8, or int16 (16x8). */
  activations: ActivationDtype;
  /** 10 log10(sum float^2 / sum (float - int8)^2): Infinity when identical. */
  sqnrDb: number;
  /** Cosine of the angle between the float and the dequantized int8 values; 1 is perfect. */
  cosine: number;
  maxAbsError: number;
}

/**
 * Prepares a graph for running one sample at a time; src/ref's createExecutor is the bit-exact one.
 * A graph with state (an LSTM's) carries it from one call to the next until reset(): calibration
 * samples are independent, so every one is run from cleared state.
 */
export type GraphRunner = (graph: Graph) => ((inputs: TensorData[]) => TensorData[]) & { reset?(): void };

/** How close a quantized model's outputs are to its float model's, over a set of samples. */
export interface ModelScore {
  /**
   * SQNR over every graph output together (dB); Infinity when identical. An output a softmax
   * computes counts by its input, the logits: the int8 softmax's own 1/256 grid is fixed whatever
   * comes before it, and the SQNR of probabilities jumps with how many of them saturate (on a
   * ResNet-8, a change that raised the logits' SQNR by 0.05 dB lowered the softmax's by 0.57).
   */
  outputSqnrDb: number;
  /**
   * Top-1 agreement: the share of class-score rows (the last axis of every output a softmax
   * computes: one row per sample for a classifier) whose largest score is at the same index in
   * int8 and float. 1 when the model has no such output (a regression, an autoencoder: the
   * largest of their outputs means nothing).
   */
  agreement: number;
  /** How many rows `agreement` is over; 0 for a model without class scores. */
  agreementRows: number;
}

/**
 * `int8Graph` must come from quantizeGraph(`floatGraph`, ...), which keeps every original
 * tensor's index. The float side comes from `source`, the int8 side from `runner`.
 */
export async function compareLayers(
  floatGraph: Graph,
  int8Graph: Graph,
  data: CalibrationSet,
  source: ActivationSource,
  runner: GraphRunner,
  batchSize = 32,
): Promise<LayerError[]> {
  return (await compareModels(floatGraph, int8Graph, data, source, runner, batchSize)).layers;
}

/**
 * compareLayers, and in the same pass the score of the model's outputs, with the squared error of
 * the outputs SQNR is taken on, sample by sample (`outputNoise`: how sure a difference is).
 */
export async function compareModels(
  floatGraph: Graph,
  int8Graph: Graph,
  data: CalibrationSet,
  source: ActivationSource,
  runner: GraphRunner,
  batchSize = 32,
): Promise<ModelScore & { layers: LayerError[]; outputNoise: Float64Array }> {
  const layers = floatGraph.ops.map((op) => op.outputs[0]);
  for (const t of layers) {
    const counterpart = int8Graph.tensors[t];
    if (!counterpart || counterpart.shape.join() !== floatGraph.tensors[t].shape.join()) {
      throw usageError(`${int8Graph.name} is not the quantized form of ${floatGraph.name}: tensor ${t} '${floatGraph.tensors[t].name}' does not line up`);
    }
  }
  const outputs = floatGraph.outputs.map((t) => layers.indexOf(t));
  if (outputs.some((k) => k < 0)) throw usageError(`${floatGraph.name}: a graph output is not computed by an op`);
  const scores = new Set(outputs.filter((k) => floatGraph.ops[k].kind === 'softmax'));
  const logits = (k: number) => (scores.has(k) ? layers.indexOf(floatGraph.ops[k].inputs[0]) : -1);
  const measured = new Set(outputs.map((k) => (logits(k) >= 0 ? logits(k) : k)));
  const layerOp = quantizedLayerOf(int8Graph);
  const run = runner({ ...int8Graph, outputs: layers });
  const stats = layers.map(() => new ErrorStats());
  const output = new ErrorStats();
  const outputNoise = new Float64Array(data.count);
  let rows = 0;
  let agreeing = 0;
  await forEachBatch(floatGraph, data, source, layers, batchSize, (values, start, count) => {
    for (let s = 0; s < count; s++) {
      run.reset?.();
      const int8Outputs = run(int8Inputs(int8Graph, sliceSamples(floatGraph, data, start + s, start + s + 1)));
      layers.forEach((t, k) => {
        const size = numel(floatGraph.tensors[t].shape);
        const reference = values.get(t)!.subarray(s * size, (s + 1) * size);
        const approximation = realValues(int8Graph, t, int8Outputs[k]);
        stats[k].add(reference, approximation);
        if (measured.has(k)) {
          output.add(reference, approximation);
          for (let i = 0; i < size; i++) outputNoise[start + s] += (reference[i] - approximation[i]) ** 2;
        }
        const width = floatGraph.tensors[t].shape.at(-1) ?? 1;
        if (!scores.has(k) || width < 2) return;
        for (let at = 0; at < size; at += width) {
          rows++;
          if (argmax(reference, at, width) === argmax(approximation, at, width)) agreeing++;
        }
      });
    }
  });
  return {
    layers: floatGraph.ops.map((op, k) => ({
      op: k,
      kind: op.kind,
      ...(op.origin !== undefined && { origin: op.origin }),
      tensor: floatGraph.tensors[op.outputs[0]].name,
      activations: int8Graph.tensors[int8Graph.ops[layerOp(op.outputs[0])].outputs[0]].dtype === 'int16' ? 'int16' : 'int8',
      ...stats[k].result(),
    })),
    outputSqnrDb: output.result().sqnrDb,
    agreement: rows === 0 ? 1 : agreeing / rows,
    agreementRows: rows,
    outputNoise,
  };
}

function argmax(values: Float32Array, at: number, width: number): number {
  let best = 0;
  for (let k = 1; k < width; k++) if (values[at + k] > values[at + best]) best = k;
  return best;
}

/** One float sample as the int8 graph takes it: quantized with each input's parameters, or as is for float inputs. */
export function int8Inputs(graph: Graph, sample: Float32Array[]): TensorData[] {
  return graph.inputs.map((t, k) => {
    const { dtype, quant } = graph.tensors[t];
    return dtype === 'int8' ? quantizeValues(sample[k], affineOf(quant!)) : sample[k];
  });
}

/**
 * Float tensor index -> index of the quantized op computing it: the op itself, or the one behind
 * the QUANTIZE and DEQUANTIZE that give a model output the type the model's outputs have (a float
 * graph has no such ops: the quantizer added them).
 */
export function quantizedLayerOf(quantized: Graph): (t: number) => number {
  const producer = new Map(quantized.ops.map((op, j) => [op.outputs[0], j]));
  const added = (j: number) => quantized.ops[j].kind === 'dequantize' || quantized.ops[j].kind === 'quantize';
  return (t) => {
    let j = producer.get(t)!;
    while (added(j)) j = producer.get(quantized.ops[j].inputs[0])!;
    return j;
  };
}

export function realValues(graph: Graph, t: number, values: TensorData): Float32Array {
  const { dtype, quant } = graph.tensors[t];
  if (dtype !== 'int8' && dtype !== 'int16') return values as Float32Array;
  return dequantizeValues(values as Int8Array | Int16Array, affineOf(quant!));
}

class ErrorStats {
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private quantized = 0;
  private maxAbs = 0;

  add(reference: Float32Array, approximation: Float32Array): void {
    for (let i = 0; i < reference.length; i++) {
      const f = reference[i];
      const q = approximation[i];
      const e = f - q;
      this.signal += f * f;
      this.noise += e * e;
      this.dot += f * q;
      this.quantized += q * q;
      this.maxAbs = Math.max(this.maxAbs, Math.abs(e));
    }
  }

  result(): Pick<LayerError, 'sqnrDb' | 'cosine' | 'maxAbsError'> {
    const sqnrDb = this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise);
    const norms = Math.sqrt(this.signal * this.quantized);
    const cosine = norms === 0 ? (this.signal === this.quantized ? 1 : 0) : this.dot / norms;
    return { sqnrDb, cosine, maxAbsError: this.maxAbs };
  }
}
