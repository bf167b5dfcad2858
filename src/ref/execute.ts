// The host reference executor: runs a Graph on one sample, op by op, with kernels that are
// bit-exact with TensorFlow Lite Micro's reference kernels in int8 and compute float32 the way
// those kernels do. It is the "what the device should output" the rest of edgec checks against.

import { dtypeOf, numel } from '../ir/dtype.ts';
import { dataError, modelError } from '../ir/errors.ts';
import type { Graph, Op, OpKind, TensorData } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { prepareArgMinMax } from './arg-min-max.ts';
import { prepareBatchMatMul } from './batch-matmul.ts';
import { prepareConcatenation } from './concat.ts';
import { prepareConv2D, prepareTransposeConv2D } from './conv.ts';
import { prepareDepthwiseConv2D } from './depthwise.ts';
import { evalElementwise } from './elementwise.ts';
import { prepareFullyConnected } from './fully_connected.ts';
import type { Kernel, StatefulKernel } from './kernel.ts';
import { prepareLstm } from './lstm.ts';
import { prepareMean } from './mean.ts';
import { prepareGather, prepareMove, preparePack, prepareResizeNearest } from './move.ts';
import { preparePad } from './pad.ts';
import { preparePool2D } from './pool.ts';
import { prepareDequantize, prepareQuantize } from './quantize.ts';
import { prepareReshape } from './reshape.ts';
import { prepareSvdf } from './svdf.ts';
import { prepareResizeBilinear } from './resize.ts';

type Preparer<K extends OpKind> = (graph: Graph, op: Extract<Op, { kind: K }>) => Kernel;

const elementwise = (graph: Graph, op: Op): Kernel => (inputs) => evalElementwise(graph, op, inputs);

const PREPARE: { [K in OpKind]: Preparer<K> } = {
  conv2d: prepareConv2D,
  transpose_conv2d: prepareTransposeConv2D,
  batch_matmul: prepareBatchMatMul,
  depthwise_conv2d: prepareDepthwiseConv2D,
  fully_connected: prepareFullyConnected,
  avg_pool2d: preparePool2D,
  max_pool2d: preparePool2D,
  mean: prepareMean,
  sum: prepareMean,
  reduce_max: prepareMean,
  pad: preparePad,
  concatenation: prepareConcatenation,
  quantize: prepareQuantize,
  dequantize: prepareDequantize,
  reshape: prepareReshape,
  squeeze: prepareReshape,
  add: elementwise,
  sub: elementwise,
  mul: elementwise,
  div: elementwise,
  softmax: elementwise,
  logistic: elementwise,
  tanh: elementwise,
  relu: elementwise,
  relu6: elementwise,
  leaky_relu: elementwise,
  hard_swish: elementwise,
  strided_slice: prepareMove,
  transpose: prepareMove,
  space_to_depth: prepareMove,
  depth_to_space: prepareMove,
  pack: preparePack,
  gather: prepareGather,
  maximum: elementwise,
  minimum: elementwise,
  prelu: elementwise,
  squared_difference: elementwise,
  rsqrt: elementwise,
  log_softmax: elementwise,
  exp: elementwise,
  elu: elementwise,
  resize_nearest: prepareResizeNearest,
  resize_bilinear: prepareResizeBilinear,
  arg_max: prepareArgMinMax,
  arg_min: prepareArgMinMax,
  unidirectional_sequence_lstm: prepareLstm,
  svdf: prepareSvdf,
};

/** Same storage type, allowing bool tensors to be held in a Uint8Array. */
const holds = (data: TensorData, dtype: string) => dtypeOf(data) === dtype || (dtype === 'bool' && dtypeOf(data) === 'uint8');

/** Runs the graph on one sample; reset() clears the state that stateful ops (LSTMs) carry from one call to the next. */
export type Executor = ((inputs: TensorData[]) => TensorData[]) & { reset(): void };

/**
 * Checks and prepares the graph once (all requantization constants computed up front) and
 * returns a function that runs it on one sample: inputs in graph.inputs order, outputs in
 * graph.outputs order. Like TFLite Micro's interpreter, it starts with cleared state and carries
 * the state of stateful ops over from one call to the next until reset().
 */
export function createExecutor(graph: Graph): Executor {
  verifyGraph(graph);
  graph.tensors.forEach((t, i) => {
    if (t.data && !holds(t.data, t.dtype)) {
      throw modelError(`${graph.name}: constant tensor ${i} '${t.name}' is declared ${t.dtype} but holds ${dtypeOf(t.data)} values`);
    }
  });
  const kernels = graph.ops.map((op) => (PREPARE[op.kind] as Preparer<OpKind>)(graph, op));

  const reset = () => kernels.forEach((k) => (k as Partial<StatefulKernel>).reset?.());
  const run = (inputs: TensorData[]) => {
    if (inputs.length !== graph.inputs.length) {
      throw dataError(`${graph.name}: the model takes ${graph.inputs.length} input(s), ${inputs.length} given`);
    }
    const values: (TensorData | undefined)[] = graph.tensors.map((t) => t.data);
    graph.inputs.forEach((index, k) => {
      const t = graph.tensors[index];
      const data = inputs[k];
      if (!holds(data, t.dtype) || data.length !== numel(t.shape)) {
        throw dataError(
          `${graph.name}: input ${k} '${t.name}' needs ${numel(t.shape)} ${t.dtype} values (shape [${t.shape}]), got ${data.length} ${dtypeOf(data)} values`,
        );
      }
      values[index] = data;
    });
    graph.ops.forEach((op, i) => {
      values[op.outputs[0]] = kernels[i](op.inputs.map((t) => values[t] as TensorData));
    });
    return graph.outputs.map((t) => values[t] as TensorData);
  };
  return Object.assign(run, { reset });
}

/** Runs the graph on one sample. To run many samples, call createExecutor once and reuse it. */
export function executeGraph(graph: Graph, inputs: TensorData[]): TensorData[] {
  return createExecutor(graph)(inputs);
}
