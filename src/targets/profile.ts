// Where an inference spends its cycles: a profiling build (the board's counter read after every
// op) run on the board, op by op, beside the kernel each op uses and the MACs it does.

import { allocate, numel } from '../ir/dtype.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import { executeGraph } from '../ref/execute.ts';
import { seededRandom } from '../float/train.ts';
import type { BuildReport } from './build.ts';
import type { BoardRun } from './hil.ts';

export interface LayerProfile {
  op: number;
  kind: string;
  kernel: string;
  macs: number;
  /** Median over the samples of the op's cycles (instructions under QEMU). */
  cycles: number;
  /** MACs per cycle; 0 for ops without MACs. */
  macsPerCycle: number;
  /** The op's part of the sum over all ops. */
  share: number;
}

export interface Profile {
  model: string;
  board: string;
  transport: string;
  /** What the counter counts (the board's cycle source). */
  counter: string;
  clockHz: number;
  samples: number;
  /** Whole inferences as the agent measured them around invoke (median). */
  inference: number;
  /** The sum over the ops (of the sample whose inference is the median). */
  layersTotal: number;
  /** inference - layersTotal: the counter reads and what invoke does between ops. */
  overhead: number;
  /** Samples whose outputs equal the host int8 reference's, byte for byte. */
  bitExact: number;
  layers: LayerProfile[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

export function profileOf(graph: Graph, report: BuildReport, run: BoardRun, samples: TensorData[][], transport: string): Profile {
  const middle = run.cycles.indexOf(median(run.cycles));
  const perOp = report.ops.map((_, k) => median(run.layerCycles.map((layers) => layers[k])));
  const total = perOp.reduce((a, b) => a + b, 0);
  const layers = report.ops.map((op, k) => ({
    op: op.index,
    kind: op.kind,
    kernel: op.kernel,
    macs: op.macs,
    cycles: perOp[k],
    macsPerCycle: op.macs > 0 && perOp[k] > 0 ? op.macs / perOp[k] : 0,
    share: total > 0 ? perOp[k] / total : 0,
  }));
  const layersTotal = run.layerCycles[middle].reduce((a, b) => a + b, 0);
  const sameBytes = (a: TensorData, b: TensorData) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const bitExact = samples.filter((s, i) => executeGraph(graph, s).every((out, k) => sameBytes(out, run.outputs[i][k]))).length;
  return {
    model: graph.name,
    board: run.hello.board,
    transport,
    counter: run.hello.cyclesSource,
    clockHz: run.hello.clockHz,
    samples: samples.length,
    inference: run.cycles[middle],
    layersTotal,
    overhead: run.cycles[middle] - layersTotal,
    bitExact,
    layers,
  };
}

/** One seeded sample of every input, spread over the input type's range, for a profile without --data. */
export function randomSample(graph: Graph, seed = 1): TensorData[] {
  const next = seededRandom(seed);
  return graph.inputs.map((t) => {
    const { shape, dtype } = graph.tensors[t];
    const data = allocate(dtype, numel(shape));
    for (let i = 0; i < data.length; i++) {
      data[i] = dtype === 'int8' ? Math.floor(next() * 256) - 128 : dtype === 'uint8' ? Math.floor(next() * 256) : dtype === 'int16' ? Math.floor(next() * 65536) - 32768 : next() * 2 - 1;
    }
    return data;
  });
}
