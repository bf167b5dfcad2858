// The four MLPerf Tiny benchmark networks at their benchmark sizes (bench/zoo/models.ts builds the
// architectures), with seeded random weights, quantized by edgec on seeded random calibration
// samples. Instructions and arena depend on the layer shapes, not on the weight values, so an
// architecture-identical model stands in for the trained one; TensorFlow Lite Micro's figures for
// the trained models (CMSIS-NN kernels, Cortex-M4) are the issue's.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { runFloat } from '../src/float/run.ts';
import { importTfjs } from '../src/import/tfjs.ts';
import { tfjsFileHandler } from '../src/import/tfjs-io.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { runPasses } from '../src/passes/index.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { dsCnn, fcAutoencoder, mobilenetV1, resnet8 } from './zoo/models.ts';

export interface TflmFigures {
  instructions: number;
  arena: number;
  /** The firmware's .text; where unknown, the smallest TFLM firmware's (a lower bound). */
  text: number;
  textKnown: boolean;
}

/** The smallest TFLM firmware .text measured (hello_world_int8): TFLM's code is never below it. */
const TFLM_MIN_TEXT = 32_072;

const NETWORKS: { name: string; build: () => tfl.LayersModel; tflm: Omit<TflmFigures, 'text' | 'textKnown'> }[] = [
  { name: 'IC: ResNet-8', build: () => resnet8(1, 10), tflm: { instructions: 29_860_000, arena: 55_000 } },
  { name: 'KWS: DS-CNN', build: () => dsCnn(1, 12), tflm: { instructions: 7_700_000, arena: 22_824 } },
  { name: 'VWW: MobileNetV1 0.25', build: () => mobilenetV1(1, 96, 0.25, 2), tflm: { instructions: 24_100_000, arena: 100_712 } },
  { name: 'AD: FC autoencoder', build: () => fcAutoencoder(1, 640), tflm: { instructions: 583_000, arena: 3_012 } },
];

export const MLPERF_NETWORKS = NETWORKS.map((n) => n.name);

/** A seeded generator of standard normal values. */
function normals(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

const CALIBRATION_SAMPLES = 16;

/** One network as an int8 graph, with `count` random int8 samples and TFLM's figures. */
export async function mlperfNetwork(name: string, count: number): Promise<{ graph: Graph; samples: TensorData[][]; tflm: TflmFigures }> {
  const network = NETWORKS.find((n) => n.name === name);
  if (!network) throw new Error(`no MLPerf Tiny network '${name}'; the networks are ${MLPERF_NETWORKS.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'edgec-mlperf-'));
  let float: Graph;
  try {
    const model = network.build();
    await model.save(tfjsFileHandler(join(dir, 'model.json')));
    model.dispose();
    float = runPasses(await importTfjs(join(dir, 'model.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const normal = normals(7);
  const calibration = {
    inputs: float.inputs.map((t) => Float32Array.from({ length: CALIBRATION_SAMPLES * numel(float.tensors[t].shape) }, normal)),
    count: CALIBRATION_SAMPLES,
  };
  const ranges = await recordRanges(float, calibration, (g, inputs, keep) => runFloat(g, inputs, { keep }));
  const graph = quantizeGraph(float, ranges);
  graph.name = name.split(':')[0].toLowerCase();
  const uniform = normals(11);
  const samples = Array.from({ length: count }, () =>
    graph.inputs.map((t) => Int8Array.from({ length: numel(graph.tensors[t].shape) }, () => Math.max(-128, Math.min(127, Math.round(40 * uniform()))))),
  );
  return { graph, samples, tflm: { ...network.tflm, text: TFLM_MIN_TEXT, textKnown: false } };
}
