// Fine-tuning a float Graph with tfjs-core: the weights and biases of its conv, depthwise and
// dense layers become variables, the forward pass is the float executor's kernels compiled over
// those variables (so training computes exactly what inference computes), and the trained values
// are written back into a new Graph with the same ops and tensor indices. Training runs on the
// cpu backend: the wasm backend has no gradients for convolutions.

import * as tf from '@tensorflow/tfjs-core';
import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { describeOp, verifyGraph } from '../ir/verify.ts';
import { onBackend } from './backend.ts';
import { useFastTrainingKernels } from './fast-kernels.ts';
import { compileFloatOp, graphConstants } from './kernels.ts';
// tfjs-core registers the gradients of its ops only from its ES module build, which Node cannot
// load; the Node build of tfjs-layers carries and registers all of them.
import '@tensorflow/tfjs-layers';

/** Samples of a graph's inputs: per input, `count` samples back to back. */
export interface Samples {
  inputs: Float32Array[];
  count: number;
}

/** A small seeded generator (mulberry32): the same seed gives the same run, which Math.random cannot. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..n-1 in an order drawn from `random` (Fisher-Yates). */
export function shuffled(n: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The samples at `indices`, per graph input, as tensors with a leading sample axis. */
export function gatherBatch(graph: Graph, samples: Samples, indices: ArrayLike<number>): tf.Tensor[] {
  return graph.inputs.map((t, k) => {
    const shape = graph.tensors[t].shape;
    const size = numel(shape);
    const values = new Float32Array(indices.length * size);
    for (let i = 0; i < indices.length; i++) values.set(samples.inputs[k].subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
    return tf.tensor(values, [indices.length, ...shape], 'float32');
  });
}

/** Tensor indices of the weights and biases of every layer with weights, each once. */
export function trainableTensors(graph: Graph): number[] {
  const found = new Set<number>();
  for (const op of graph.ops) {
    const traits = opTraits(op);
    if (!traits.weights) continue;
    found.add(op.inputs[traits.weights.input]);
    if (traits.bias !== undefined && op.inputs[traits.bias] !== undefined) found.add(op.inputs[traits.bias]);
  }
  return [...found];
}

/** tfjs has no gradient for dilated convolutions; say so before a training run starts. */
function checkTrainable(graph: Graph): void {
  graph.ops.forEach((op, i) => {
    if ((op.kind === 'conv2d' || op.kind === 'depthwise_conv2d') && op.attrs.dilation.some((d) => d !== 1)) {
      throw usageError(`${graph.name}: ${describeOp(op, i)} is dilated; tfjs has no gradient for dilated convolutions, so the model cannot be fine-tuned`);
    }
  });
}

/**
 * A float graph whose layer weights are tfjs variables. `forward` must run inside a tfjs scope
 * (tidy, or a gradient function): the tensors it returns and makes are that scope's.
 */
export class TrainableGraph {
  readonly variables = new Map<number, tf.Variable>();
  private readonly constants: (t: number) => tf.Tensor;

  constructor(readonly graph: Graph) {
    verifyGraph(graph);
    // tfjs's fused convolutions compute their weights' gradients with every backward pass.
    useFastTrainingKernels();
    const fromGraph = graphConstants(graph);
    for (const t of trainableTensors(graph)) {
      const { data, shape, dtype, name } = graph.tensors[t];
      if (dtype !== 'float32') throw usageError(`${graph.name}: tensor ${t} '${name}' is ${dtype}; only float models are fine-tuned`);
      this.variables.set(t, tf.variable(tf.tensor(data as Float32Array, shape, 'float32'), true));
    }
    this.constants = (t) => this.variables.get(t) ?? fromGraph(t);
  }

  /**
   * The values of `wanted` (graph inputs or op outputs) for a batch: [samples, ...IR shape] each.
   * `added` values are added to op outputs as they are computed: zeros there make the gradient
   * with respect to them the gradient with respect to those activations.
   */
  forward(inputs: tf.Tensor[], wanted: number[], added?: Map<number, tf.Tensor>): Map<number, tf.Tensor> {
    const { graph } = this;
    const count = inputs[0]?.shape[0] ?? 1;
    const values = new Map<number, tf.Tensor>(graph.inputs.map((t, k) => [t, inputs[k]]));
    // A constant used as data (a batch norm's scale left unfolded) is repeated for every sample.
    const sampled = (t: number) => values.get(t) ?? tf.broadcastTo(tf.expandDims(this.constants(t), 0), [count, ...graph.tensors[t].shape]);
    const last = Math.max(-1, ...wanted.map((t) => graph.ops.findIndex((op) => op.outputs[0] === t)));
    for (let i = 0; i <= last; i++) {
      const op = graph.ops[i];
      const kernel = compileFloatOp(graph, op, i, this.constants);
      const output = op.outputs[0];
      const value = tf.reshape(kernel.run(op.inputs.slice(0, kernel.dataInputs).map(sampled)), [count, ...graph.tensors[output].shape]);
      const extra = added?.get(output);
      values.set(output, extra ? tf.add(value, extra) : value);
    }
    return new Map(wanted.map((t) => [t, values.get(t)!]));
  }

  /** A new graph with the variables' current values; ops and tensor indices as in the original. */
  toGraph(): Graph {
    const tensors = [...this.graph.tensors];
    for (const [t, variable] of this.variables) tensors[t] = { ...tensors[t], data: Float32Array.from(variable.dataSync()) };
    return { ...this.graph, tensors };
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

/**
 * Adam with a learning rate set per step (tfjs's own optimizer fixes it at construction), so a
 * schedule can follow the time cap. Moments are created with the variables' shapes.
 */
class Adam {
  private readonly m = new Map<number, tf.Variable>();
  private readonly v = new Map<number, tf.Variable>();
  private step = 0;

  constructor(
    private readonly variables: Map<number, tf.Variable>,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    for (const [t, variable] of variables) {
      this.m.set(t, tf.variable(tf.zerosLike(variable), false));
      this.v.set(t, tf.variable(tf.zerosLike(variable), false));
    }
  }

  apply(grads: Map<number, tf.Tensor>, learningRate: number): void {
    this.step++;
    const { beta1, beta2, epsilon } = this;
    const correction = Math.sqrt(1 - beta2 ** this.step) / (1 - beta1 ** this.step);
    tf.tidy(() => {
      for (const [t, grad] of grads) {
        const m = this.m.get(t)!;
        const v = this.v.get(t)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
        const update = tf.div(tf.mul(m, learningRate * correction), tf.add(tf.sqrt(v), epsilon));
        this.variables.get(t)!.assign(tf.sub(this.variables.get(t)!, update));
      }
    });
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

export interface TrainProgress {
  step: number;
  /** Steps of the whole run as planned by `epochs` (the time cap may end it sooner). */
  steps: number;
  epoch: number;
  epochs: number;
  /** Mean loss over the current epoch so far. */
  loss: number;
  seconds: number;
  /** Seconds left: to the planned end or to the time cap, whichever comes first. */
  eta: number;
}

export interface TrainOptions {
  /** Passes over the samples. Default 1. */
  epochs?: number;
  /** Samples per step. Default 32. */
  batchSize?: number;
  /** Adam's peak learning rate; it decays along a half cosine to zero at the planned end or the time cap. Default 1e-3. */
  learningRate?: number;
  /** Seeds the sample order. Default 1. */
  seed?: number;
  /**
   * Seconds after which training stops at the end of the current step. Default: none. When it
   * binds, how far training gets (and the schedule) depends on the machine's speed: only runs
   * without a binding cap are reproducible.
   */
  timeLimit?: number;
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainResult {
  graph: Graph;
  steps: number;
  /** Samples the steps went through (a sample counts once per epoch). */
  samples: number;
  seconds: number;
  /** Mean loss of each epoch, the last one possibly cut short by the time cap. */
  losses: number[];
  stoppedBy: 'epochs' | 'time';
}

/**
 * The loss of a batch: `outputs` holds the wanted tensors' values for the samples at `indices`
 * (indices into the training samples, so per-sample targets can be looked up).
 */
export type BatchLoss = (outputs: Map<number, tf.Tensor>, indices: Int32Array) => tf.Scalar;

/**
 * Minimises `loss` over the samples with Adam, in seeded random batches. Returns the trained
 * graph; the input graph is not changed.
 */
export async function trainGraph(graph: Graph, samples: Samples, wanted: number[], loss: BatchLoss, options: TrainOptions = {}): Promise<TrainResult> {
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  const peak = options.learningRate ?? 1e-3;
  const timeLimit = options.timeLimit ?? Infinity;
  if (!Number.isInteger(epochs) || epochs < 0) throw usageError(`epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size must be a positive integer, got ${batchSize}`);
  if (!(peak > 0)) throw usageError(`learning rate must be positive, got ${peak}`);
  if (!(timeLimit > 0)) throw usageError(`time limit must be positive, got ${timeLimit}`);
  checkTrainable(graph);

  const random = seededRandom(options.seed ?? 1);
  const perEpoch = Math.ceil(samples.count / batchSize);
  const steps = epochs * perEpoch;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const losses: number[] = [];
  let step = 0;
  let seen = 0;
  let stoppedBy: TrainResult['stoppedBy'] = 'epochs';

  const { trainable, adam } = await onBackend('cpu', () => {
    const trainable = new TrainableGraph(graph);
    return { trainable, adam: new Adam(trainable.variables) };
  });
  const variables = [...trainable.variables.values()];
  const byName = new Map([...trainable.variables].map(([t, v]) => [v.name, t]));
  try {
    let sum = 0;
    let counted = 0;
    run: for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffled(samples.count, random);
      sum = 0;
      counted = 0;
      for (let start = 0; start < samples.count; start += batchSize) {
        if (elapsed() >= timeLimit) {
          stoppedBy = 'time';
          break run;
        }
        // The schedule runs on whichever end comes first, the planned steps or the time cap.
        const done = Math.min(1, Math.max(step / steps, elapsed() / timeLimit));
        const learningRate = peak * 0.5 * (1 + Math.cos(Math.PI * done));
        const indices = order.subarray(start, Math.min(start + batchSize, samples.count));
        const value = await onBackend('cpu', () =>
          tf.tidy(() => {
            const batch = gatherBatch(graph, samples, indices);
            const { value, grads } = tf.variableGrads(() => loss(trainable.forward(batch, wanted), indices), variables);
            adam.apply(new Map(Object.entries(grads).map(([name, g]) => [byName.get(name)!, g])), learningRate);
            return value.dataSync()[0];
          }),
        );
        sum += value * indices.length;
        counted += indices.length;
        seen += indices.length;
        step++;
        const seconds = elapsed();
        const eta = Math.min((seconds / step) * (steps - step), timeLimit - seconds);
        options.onProgress?.({ step, steps, epoch: epoch + 1, epochs, loss: sum / counted, seconds, eta: Math.max(0, eta) });
      }
      losses.push(sum / counted);
      counted = 0;
    }
    // The epoch the time cap cut short: its mean so far.
    if (counted > 0) losses.push(sum / counted);
    const trained = await onBackend('cpu', () => trainable.toGraph());
    return { graph: trained, steps: step, samples: seen, seconds: elapsed(), losses, stoppedBy };
  } finally {
    await onBackend('cpu', () => {
      adam.dispose();
      trainable.dispose();
    });
  }
}
