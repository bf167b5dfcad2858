// The quantization-quality section of `npm run bench` (alone: `npm run bench:quant`, or
// `npm run bench -- quant`; `npm run bench:quant -- resnet8 ...` for some of the models): the four
// MLPerf Tiny architectures of bench/zoo, trained briefly (cached in build/zoo/), each quantized to int8 by edgec's ptq() with every post-training
// technique alone and with the default choice ('auto'), then measured on held-out samples that
// calibration never saw:
//   SQNR       of the int8 model's logits (the softmax's input; the autoencoder's reconstruction)
//              against the float model's, over all held-out samples (dB); beside it the same on
//              the calibration samples as ptq() measured it, which its 'auto' choices go by;
//   agreement  share of held-out samples whose top-1 class is the float model's;
//   score      the int8 model's accuracy on the labels (the autoencoder: ROC AUC of its
//              reconstruction error, anomalies against normal images), next to the float one.
// int8 runs on src/ref's bit-exact executor, float on src/float's executor. A technique that
// ptq() does not offer reads "not available"; one that found nothing to change in a model (joint
// ranges without an ADD or CONCATENATION) reads "nothing to do", with the baseline's numbers.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFloat } from '../src/float/run.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import type { CalibrationSet } from '../src/quant/activations.ts';
import { affineOf, dequantizeValues, quantizeValues } from '../src/quant/params.ts';
import { type PtqResult, type PtqTechniques, ptq } from '../src/quant/ptq.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { formatTable } from '../src/text-table.ts';
import { CLASSES, INPUT_SHAPES, type ZooSamples, loadZooSamples } from './zoo/data.ts';
import type { ZooModelName } from './zoo/models.ts';
import { ZOO_DIR, ZOO_MODELS, type ZooModel, argmaxRows, reconstructionErrors, rocAuc, trainZoo, zooGraph } from './zoo/train.ts';

/** Calibration samples: training-split images from this index on, never used for training. */
const CALIBRATION_OFFSET = 50_000;
export const CALIBRATION_SAMPLES = 200;
/** Held-out samples: test-split images from this index on (the float score used the first 2,000). */
const HELD_OUT_OFFSET = 5_000;
export const HELD_OUT_SAMPLES = 500;

const OFF: PtqTechniques = { equalization: 'off', jointRanges: 'off', biasCorrection: 'off', rounding: 'nearest' };

type TechniqueKey = 'minmax' | 'biasCorrection' | 'equalization' | 'jointRanges' | 'adaptiveRounding' | 'auto';

interface TechniqueRow {
  key: TechniqueKey;
  label: string;
  techniques: PtqTechniques | undefined;
}

const TECHNIQUE_ROWS: TechniqueRow[] = [
  { key: 'minmax', label: 'min/max (baseline)', techniques: OFF },
  { key: 'biasCorrection', label: 'bias correction', techniques: { ...OFF, biasCorrection: 'on' } },
  { key: 'equalization', label: 'cross-layer equalization', techniques: { ...OFF, equalization: 'on' } },
  { key: 'jointRanges', label: 'joint ADD/CONCAT ranges', techniques: { ...OFF, jointRanges: 'on' } },
  { key: 'adaptiveRounding', label: 'adaptive rounding', techniques: { ...OFF, rounding: 'adaptive' } },
  { key: 'auto', label: 'auto (default)', techniques: undefined },
];

export interface QuantMeasurement {
  model: ZooModelName;
  technique: TechniqueKey;
  /** 'ok'; 'nothing to do' when the technique changed no layer of this model; 'not available'. */
  status: 'ok' | 'nothing to do' | 'not available';
  /** Why it is not available (ptq's message). */
  reason?: string;
  sqnrDb?: number;
  /** Top-1 agreement with the float model; absent for the autoencoder. */
  agreement?: number;
  /** int8 accuracy on the labels, or the autoencoder's int8 ROC AUC. */
  score?: number;
  /** ptq's own output SQNR on the calibration samples (logits too), which its 'auto' choices go by. */
  calibrationSqnrDb?: number;
  /** Techniques ptq kept (for 'auto': what it chose). */
  kept?: string[];
  /** ptq's decisions as it reported them: per technique tried, kept or not, and why not. */
  decisions?: { technique: string; mode: string; kept: boolean; layers: number; note?: string }[];
  seconds?: number;
}

export interface QuantModelInfo {
  model: ZooModelName;
  params: number;
  trainSeconds: number;
  /** Processor seconds of training (wall-clock seconds include the machine's other load). */
  trainCpuSeconds?: number;
  floatMetric: 'accuracy' | 'auc';
  /** The float model on the same held-out samples. */
  floatScore: number;
  /** The float model on the first 2,000 test images (train.json). */
  floatTestScore: number;
}

export interface QuantBenchResult {
  calibrationSamples: number;
  heldOutSamples: number;
  models: QuantModelInfo[];
  measurements: QuantMeasurement[];
}

/** The tensor whose SQNR is reported: the softmax's input when the output is a softmax, else the output. */
function measuredTensor(graph: Graph): number {
  const output = graph.outputs[0];
  const producer = graph.ops.find((op) => op.outputs[0] === output);
  return producer?.kind === 'softmax' ? producer.inputs[0] : output;
}

const calibrationSet = (samples: ZooSamples): CalibrationSet => ({ inputs: [samples.inputs], count: samples.count });

/** The int8 graph's values of its measured tensor on every held-out sample, dequantized. */
function runInt8(graph: Graph, samples: ZooSamples): Float32Array {
  const tensor = measuredTensor(graph);
  const run = createExecutor({ ...graph, outputs: [tensor] });
  const input = graph.tensors[graph.inputs[0]];
  const out = graph.tensors[tensor];
  const inSize = numel(input.shape);
  const outSize = numel(out.shape);
  const values = new Float32Array(samples.count * outSize);
  for (let s = 0; s < samples.count; s++) {
    const sample = samples.inputs.subarray(s * inSize, (s + 1) * inSize);
    const fed: TensorData = input.dtype === 'int8' ? quantizeValues(sample, affineOf(input.quant!)) : sample;
    const result = run([fed])[0];
    values.set(out.dtype === 'int8' ? dequantizeValues(result as Int8Array, affineOf(out.quant!)) : (result as Float32Array), s * outSize);
  }
  return values;
}

/** A digest of everything that decides an int8 graph's outputs: ops, shapes, constants, quantization. */
function fingerprint(graph: Graph): string {
  let crc = crc32(new TextEncoder().encode(JSON.stringify({ ops: graph.ops, inputs: graph.inputs, outputs: graph.outputs })));
  for (const t of graph.tensors) {
    crc = crc32(new TextEncoder().encode(JSON.stringify([t.shape, t.dtype, t.quant ?? null])), crc);
    if (t.data && !(t.data instanceof BigInt64Array)) crc = crc32(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), crc);
  }
  return `${crc.toString(16)}:${graph.tensors.length}`;
}

function sqnrDb(reference: Float32Array, approximation: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    signal += reference[i] ** 2;
    noise += (reference[i] - approximation[i]) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

function accuracy(predicted: Int32Array, labels: Uint8Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** The task score of outputs (logits, or reconstructions) on the held-out samples. */
function taskScore(model: ZooModelName, values: Float32Array, samples: ZooSamples): number {
  const classes = CLASSES[model];
  if (classes === 0) return rocAuc(reconstructionErrors(samples.inputs, values, INPUT_SHAPES[model][0]), samples.labels);
  return accuracy(argmaxRows(values, classes), samples.labels);
}

const TECHNIQUE_NAMES: Record<string, string> = { equalization: 'equalization', jointRanges: 'joint ranges', biasCorrection: 'bias correction' };

/** Which ptq decision a row is about, to tell whether the technique changed anything. */
const DECISION_OF: Partial<Record<TechniqueKey, string>> = { biasCorrection: 'biasCorrection', equalization: 'equalization', jointRanges: 'jointRanges' };

async function measure(
  model: ZooModelName,
  floatGraph: Graph,
  calibration: ZooSamples,
  heldOut: ZooSamples,
  reference: Float32Array,
  row: TechniqueRow,
  heldOutCache: Map<string, Float32Array>,
): Promise<QuantMeasurement> {
  const started = performance.now();
  let result: PtqResult;
  try {
    result = await ptq(floatGraph, calibrationSet(calibration), { techniques: row.techniques, runner: createExecutor });
  } catch (e) {
    if (e instanceof EdgecError && /not (available|implemented)/i.test(e.message)) return { model, technique: row.key, status: 'not available', reason: e.message };
    throw e;
  }
  // Techniques that change nothing give the same int8 graph: it is run on the held-out samples once.
  const key = fingerprint(result.graph);
  const values = heldOutCache.get(key) ?? runInt8(result.graph, heldOut);
  heldOutCache.set(key, values);
  const classes = CLASSES[model];
  const decision = DECISION_OF[row.key] && result.decisions.find((d) => d.technique === DECISION_OF[row.key]);
  const kept = result.decisions.filter((d) => d.kept).map((d) => TECHNIQUE_NAMES[d.technique] ?? d.technique);
  // Rounding is not one of ptq's decisions: it is applied whenever asked for.
  if (row.techniques?.rounding === 'adaptive') kept.push('adaptive rounding');
  return {
    model,
    technique: row.key,
    status: decision && decision.ops.length === 0 ? 'nothing to do' : 'ok',
    sqnrDb: sqnrDb(reference, values),
    agreement: classes > 0 ? accuracy(argmaxRows(values, classes), Uint8Array.from(argmaxRows(reference, classes))) : undefined,
    score: taskScore(model, values, heldOut),
    calibrationSqnrDb: result.outputSqnrDb,
    kept,
    decisions: result.decisions.map((d) => ({ technique: d.technique, mode: d.mode, kept: d.kept, layers: d.ops.length, ...(d.note !== undefined && { note: d.note }) })),
    seconds: (performance.now() - started) / 1000,
  };
}

export interface QuantBenchOptions {
  /** Default: the whole zoo. */
  names?: ZooModelName[];
  log?: (line: string) => void;
  /** Where the numbers go as JSON; default build/zoo/quant-bench.json. */
  json?: string;
}

/** Trains or loads the zoo, quantizes each model with each technique, measures on held-out samples. */
export async function quantBench(options: QuantBenchOptions = {}): Promise<QuantBenchResult> {
  const log = options.log ?? (() => {});
  const zoo = await trainZoo({ names: options.names, log });
  const models: QuantModelInfo[] = [];
  const measurements: QuantMeasurement[] = [];
  for (const entry of zoo) {
    const { name } = entry;
    const floatGraph = await zooGraph(entry.path);
    const autoencoder = CLASSES[name] === 0;
    const calibration = loadZooSamples(name, 'train', CALIBRATION_OFFSET, CALIBRATION_SAMPLES, autoencoder);
    const heldOut = loadZooSamples(name, 'test', HELD_OUT_OFFSET, HELD_OUT_SAMPLES);
    const tensor = measuredTensor(floatGraph);
    const reference = (await runFloat(floatGraph, [heldOut.inputs], { keep: [tensor] })).get(tensor)!;
    models.push(modelInfo(entry, floatGraph, taskScore(name, reference, heldOut)));
    const heldOutCache = new Map<string, Float32Array>();
    for (const row of TECHNIQUE_ROWS) {
      const m = await measure(name, floatGraph, calibration, heldOut, reference, row, heldOutCache);
      measurements.push(m);
      log(`${name}, ${row.label}: ${m.status === 'not available' ? 'not available' : `${m.sqnrDb!.toFixed(2)} dB${m.agreement === undefined ? '' : `, agreement ${(100 * m.agreement).toFixed(1)}%`} (${m.seconds!.toFixed(0)} s)`}`);
    }
  }
  const result: QuantBenchResult = { calibrationSamples: CALIBRATION_SAMPLES, heldOutSamples: HELD_OUT_SAMPLES, models, measurements };
  const json = options.json ?? join(ZOO_DIR, 'quant-bench.json');
  mkdirSync(join(json, '..'), { recursive: true });
  writeFileSync(json, `${JSON.stringify(result, (_, v) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
  return result;
}

function modelInfo(entry: ZooModel, graph: Graph, floatScore: number): QuantModelInfo {
  let params = 0;
  for (const op of graph.ops) for (const t of op.inputs) if (graph.tensors[t].data) params += numel(graph.tensors[t].shape);
  return { model: entry.name, params, trainSeconds: entry.trainSeconds, trainCpuSeconds: entry.cpuSeconds, floatMetric: entry.float.metric, floatScore, floatTestScore: entry.float.value };
}

const percent = (x: number | undefined) => (x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);
const db = (x: number | undefined) => (x === undefined ? '—' : x === Infinity ? 'inf' : x.toFixed(2));

/** The section's table: one row per model and technique. */
export function quantTable(result: QuantBenchResult): string {
  const rows: string[][] = [];
  for (const info of result.models) {
    const baseline = result.measurements.find((m) => m.model === info.model && m.technique === 'minmax');
    for (const row of TECHNIQUE_ROWS) {
      const m = result.measurements.find((x) => x.model === info.model && x.technique === row.key)!;
      const first = row.key === TECHNIQUE_ROWS[0].key;
      const model = first ? info.model : '';
      const floatScore = first ? `${percent(info.floatScore)} ${info.floatMetric === 'auc' ? 'AUC' : ''}`.trimEnd() : '';
      if (m.status === 'not available') {
        rows.push([model, row.label, 'not available', '', '', '', '', floatScore, '']);
        continue;
      }
      const delta = row.key === 'minmax' || baseline?.sqnrDb === undefined ? '' : `${m.sqnrDb! - baseline.sqnrDb >= 0 ? '+' : ''}${(m.sqnrDb! - baseline.sqnrDb).toFixed(2)}`;
      const note = m.status === 'nothing to do' ? 'nothing to do' : row.key === 'auto' ? `kept: ${m.kept!.length > 0 ? m.kept!.join(', ') : 'none'}` : '';
      rows.push([model, row.label, db(m.sqnrDb), delta, db(m.calibrationSqnrDb), percent(m.agreement), percent(m.score), floatScore, note]);
    }
  }
  return formatTable(['model', 'technique', 'SQNR dB', 'vs min/max', 'calib dB', 'top-1 agree', 'int8 score', 'float score', ''], rows, new Set([2, 3, 4, 5, 6, 7]));
}

/** Title, table and how the models were trained, as the bench prints them. */
export function quantReport(result: QuantBenchResult): string {
  const lines = [
    `Post-training quantization on the MLPerf Tiny architectures (trained briefly on Fashion-MNIST; ${result.calibrationSamples} calibration samples, ${result.heldOutSamples} held-out samples)`,
    'SQNR of the int8 logits (autoencoder: reconstruction) against float on the held-out samples; calib dB: the same on the calibration samples, as ptq() measured it',
    'for its choices; top-1 agreement with float; score: accuracy on the labels (autoencoder: ROC AUC of anomalies)',
    '',
    quantTable(result),
    '',
    ...result.models.map(
      (m) =>
        `${m.model}: ${m.params.toLocaleString('en-US')} parameters after batch-norm folding, trained in ${m.trainSeconds.toFixed(0)} s` +
        `${m.trainCpuSeconds === undefined ? '' : ` (${m.trainCpuSeconds.toFixed(0)} s of processor time)`}, float ${m.floatMetric} ${percent(m.floatTestScore)} on the first 2,000 test images`,
    ),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2) as ZooModelName[];
  const unknown = names.filter((n) => !ZOO_MODELS.includes(n));
  if (unknown.length > 0) {
    console.error(`unknown model(s) ${unknown.join(', ')}; the zoo has ${ZOO_MODELS.join(', ')}`);
    process.exit(2);
  }
  const result = await quantBench({ names: names.length > 0 ? names : undefined, log: (line) => process.stderr.write(`${line}\n`) });
  console.log(quantReport(result));
}
