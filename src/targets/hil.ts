// The path of a sample from the host to the board and back: input tensors to INPUT frames, the
// board's OUTPUT frames to output tensors and cycle counts, over any Transport (QEMU, a serial
// port, a test's fault-injecting proxy), and the HIL report that compares them with the host.

import { DTYPE_BYTES, numel, viewBytes } from '../ir/dtype.ts';
import { dataError, EdgecError } from '../ir/errors.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import type { NdArray } from '../npy/npy.ts';
import { executeGraph } from '../ref/execute.ts';
import { HilLink, type LinkOptions, type LinkStats } from '../device/hil-link.ts';
import { encodeFrame, MSG, type Hello } from '../device/protocol.ts';
import type { Transport } from '../device/transport.ts';
import { packSamples } from './samples.ts';

export interface BoardRun {
  hello: Hello;
  outputs: TensorData[][];
  /** Cycles of each inference as the board's counter measured them (instructions under QEMU). */
  cycles: number[];
  /** A profiling build's cycles per op, per sample (empty lists otherwise). */
  layerCycles: number[][];
  stats: LinkStats;
  seconds: number;
}

const tensorBytes = (graph: Graph, t: number) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype];

/** Fails unless the board runs this model: the same hash when one is expected, the same input and output sizes always. */
export function checkHello(hello: Hello, graph: Graph, where: string, modelHash?: string): void {
  if (modelHash !== undefined && hello.modelHash !== modelHash) {
    throw new EdgecError('tool', `${where} runs model ${hello.model} (hash ${hello.modelHash}), not this build's ${graph.name} (hash ${modelHash})`, [
      'flash this build first (edgec flash), or give the build folder the board was flashed with',
    ]);
  }
  const same = (list: number[], infos: Hello['inputs']) =>
    list.length === infos.length && list.every((t, k) => infos[k].bytes === tensorBytes(graph, t) && infos[k].dtype === graph.tensors[t].dtype);
  if (!same(graph.inputs, hello.inputs) || !same(graph.outputs, hello.outputs)) {
    const describe = (infos: Hello['inputs']) => infos.map((i) => `${i.bytes} B ${i.dtype}`).join(', ');
    throw new EdgecError('tool', `${where} runs ${hello.model}, whose inputs (${describe(hello.inputs)}) or outputs (${describe(hello.outputs)}) are not ${graph.name}'s`);
  }
}

/** Runs every sample on the board behind `transport`, in order, each exactly once. */
export async function runOnBoard(
  transport: Transport,
  graph: Graph,
  samples: TensorData[][],
  options: LinkOptions & { modelHash?: string; onProgress?: (done: number, total: number) => void; stateful?: boolean } = {},
): Promise<BoardRun> {
  const link = new HilLink(transport, options);
  try {
    const hello = await link.connect();
    checkHello(hello, graph, transport.name, options.modelHash);
    const started = Date.now();
    const outputs: TensorData[][] = [];
    const cycles: number[] = [];
    const layerCycles: number[][] = [];
    for (let i = 0; i < samples.length; i++) {
      const input = packSamples([samples[i]]);
      // The first sample of a stateful run starts from cleared state too.
      const answer = await link.infer(i, input, `sample ${i}`, options.stateful === true && i > 0);
      let at = 0;
      outputs.push(
        graph.outputs.map((t) => {
          const size = tensorBytes(graph, t);
          at += size;
          return viewBytes(graph.tensors[t].dtype, answer.outputs.slice(at - size, at));
        }),
      );
      cycles.push(answer.cycles);
      layerCycles.push(answer.layerCycles);
      options.onProgress?.(i + 1, samples.length);
    }
    return { hello, outputs, cycles, layerCycles, stats: link.stats, seconds: (Date.now() - started) / 1000 };
  } finally {
    link.close();
  }
}

export interface Mismatch {
  sample: number;
  output: number;
  /** Index of the first differing element inside that output. */
  index: number;
  board: number;
  reference: number;
}

export interface HilReport {
  model: string;
  board: string;
  transport: string;
  samples: number;
  /** Fraction of samples whose board answer (argmax of output 0) equals the label; null without labels. */
  accuracy: number | null;
  /** The same for the host int8 reference. */
  referenceAccuracy: number | null;
  agreement: { bitExact: number; total: number; firstMismatch: Mismatch | null };
  cycles: { median: number; min: number; max: number; source: string };
  latencyMs: { median: number; min: number; max: number; clockHz: number };
  throughput: { samplesPerSecond: number; seconds: number; wireBytesPerSample: number; payloadBytesPerSample: number };
  link: LinkStats;
  /** Per sample: agreed bit for bit, and the first difference when not. */
  perSample: { sample: number; bitExact: boolean; cycles: number; mismatch?: Mismatch }[];
}

function firstDifference(sample: number, board: TensorData[], reference: TensorData[]): Mismatch | undefined {
  for (let k = 0; k < reference.length; k++) {
    const a = board[k] as ArrayLike<number>;
    const b = reference[k] as ArrayLike<number>;
    for (let j = 0; j < b.length; j++) {
      if (!Object.is(a[j], b[j])) return { sample, output: k, index: j, board: Number(a[j]), reference: Number(b[j]) };
    }
  }
  return undefined;
}

const argmax = (scores: ArrayLike<number>) => {
  let best = 0;
  for (let k = 1; k < scores.length; k++) if (scores[k] > scores[best]) best = k;
  return best;
};

/** Class labels, one per sample: an integer array [N] (or [N, 1]). */
export function labelsOf(array: NdArray, samples: number, file: string): number[] {
  if (array.dtype === 'float32' || array.dtype === 'bool') {
    throw dataError(`${file}: labels must be integers (class indices), got ${array.dtype}`);
  }
  if (array.shape[0] !== samples || array.shape.slice(1).some((d) => d !== 1)) {
    throw dataError(`${file}: shape [${array.shape}] is not one class index per sample ([${samples}])`);
  }
  return Array.from(array.data as ArrayLike<number | bigint>, Number);
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1] ?? 0, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
};

/** The board's answers set against the host int8 reference and the labels. */
export function hilReport(graph: Graph, samples: TensorData[][], run: BoardRun, transport: string, labels?: number[]): HilReport {
  const reference = samples.map((s) => executeGraph(graph, s));
  const perSample: HilReport['perSample'] = samples.map((_, i) => {
    const mismatch = firstDifference(i, run.outputs[i], reference[i]);
    return { sample: i, bitExact: mismatch === undefined, cycles: run.cycles[i], ...(mismatch ? { mismatch } : {}) };
  });
  const accuracyOf = (outputs: (i: number) => TensorData) =>
    labels ? labels.filter((label, i) => argmax(outputs(i) as ArrayLike<number>) === label).length / samples.length : null;
  const cycles = stats(run.cycles);
  const ms = (c: number) => (1000 * c) / run.hello.clockHz;
  const payload = samples[0]?.reduce((n, t) => n + t.byteLength, 0) ?? 0;
  const outBytes = run.hello.outputs.reduce((n, o) => n + o.bytes, 0);
  // Frames carry bytes that are all non-zero worst case; zeros only shorten COBS, so this is the most a sample costs.
  const wire = encodeFrame({ type: MSG.input, seq: 0, payload: new Uint8Array(payload).fill(1) }).length + encodeFrame({ type: MSG.output, seq: 0, payload: new Uint8Array(4 + outBytes).fill(1) }).length;
  return {
    model: graph.name,
    board: run.hello.board,
    transport,
    samples: samples.length,
    accuracy: accuracyOf((i) => run.outputs[i][0]),
    referenceAccuracy: accuracyOf((i) => reference[i][0]),
    agreement: { bitExact: perSample.filter((p) => p.bitExact).length, total: samples.length, firstMismatch: perSample.find((p) => p.mismatch)?.mismatch ?? null },
    cycles: { ...cycles, source: run.hello.cyclesSource },
    latencyMs: { median: ms(cycles.median), min: ms(cycles.min), max: ms(cycles.max), clockHz: run.hello.clockHz },
    throughput: { samplesPerSecond: samples.length / Math.max(run.seconds, 1e-3), seconds: run.seconds, wireBytesPerSample: wire, payloadBytesPerSample: payload + 4 + outBytes },
    link: run.stats,
    perSample,
  };
}

const xml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** JUnit XML: one testcase per sample, failed where the board and the reference differ. */
export function junitXml(report: HilReport): string {
  const failures = report.samples - report.agreement.bitExact;
  const suite = `edgec hil ${report.model} on ${report.board}`;
  const seconds = (cycles: number) => (cycles / report.latencyMs.clockHz).toFixed(6);
  const cases = report.perSample.map((p) => {
    const open = `    <testcase classname="${xml(`hil.${report.model}`)}" name="sample ${p.sample}" time="${seconds(p.cycles)}"`;
    if (p.bitExact) return `${open}/>`;
    const m = p.mismatch!;
    const message = `output ${m.output}[${m.index}]: board ${m.board}, host reference ${m.reference}`;
    return `${open}>\n      <failure message="${xml(message)}" type="mismatch">${xml(message)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="edgec hil" tests="${report.samples}" failures="${failures}" errors="0" time="${report.throughput.seconds.toFixed(3)}">`,
    `  <testsuite name="${xml(suite)}" tests="${report.samples}" failures="${failures}" errors="0" skipped="0" time="${report.throughput.seconds.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
