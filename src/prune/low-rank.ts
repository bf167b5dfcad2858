// Low-rank factorization: a dense layer (or a 1x1 convolution) with weights W [N, K] becomes two
// thinner ones, K -> r -> N, from W's truncated SVD: W ~ (U_r S_r^1/2)(S_r^1/2 V_r^T). It pays
// when r (N + K) < N K, in MACs and parameters alike. Given the Gram matrix C = X^T X of the
// layer's inputs on data, the SVD is taken of W L (C = L L^T) and mapped back through L^-1: that
// truncation minimises the error of the layer's outputs on that data rather than of W itself,
// which keeps directions the inputs use and drops those they do not. Unlike channel pruning this adds an op and
// two tensors (appended, so existing tensor indices keep naming the same values); the layer's
// weights tensor keeps its index and holds the second factor, which keeps the bias and the
// activation. The first factor carries a 1x1 convolution's stride.

import { runFloat } from '../float/run.ts';
import { seededRandom } from '../float/train.ts';
import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import type { Conv2DOp, FullyConnectedOp, Graph, Op } from '../ir/types.ts';
import { describeOp, verifyGraph } from '../ir/verify.ts';
import { distillTargets } from './distill.ts';
import { chooseRows, gather, gramOf, layerRows } from '../float/layer-rows.ts';
import { cholesky, solveTransposed, svd } from './linalg.ts';
import type { Dataset } from './types.ts';

type Factorable = FullyConnectedOp | Conv2DOp;

/** [N, K] of a dense layer or a 1x1 convolution, else undefined. */
function matrixShape(graph: Graph, op: Op): [number, number] | undefined {
  const w = graph.tensors[op.inputs[1]]?.shape;
  if (op.kind === 'fully_connected') return [w[0], w[1]];
  if (op.kind === 'conv2d' && w[1] === 1 && w[2] === 1) return [w[0], w[3]];
  return undefined;
}

/** The largest rank that still saves MACs and parameters: r (N + K) < N K. */
export function largestSavingRank(n: number, k: number): number {
  return Math.ceil((n * k) / (n + k)) - 1;
}

export interface LowRankCandidate {
  op: number;
  /** Units and depth of the weights. */
  n: number;
  k: number;
  /** Ranks 1..maxRank save something. */
  maxRank: number;
}

/** Dense layers and 1x1 convolutions whose weights no other op shares and that some rank makes cheaper. */
export function lowRankCandidates(graph: Graph): LowRankCandidate[] {
  return graph.ops.flatMap((op, i) => {
    const shape = matrixShape(graph, op);
    if (!shape || graph.ops.some((other, j) => j !== i && other.inputs.includes(op.inputs[1]))) return [];
    const maxRank = largestSavingRank(...shape);
    return maxRank >= 1 ? [{ op: i, n: shape[0], k: shape[1], maxRank }] : [];
  });
}

/**
 * The Gram matrix [K, K] of the rows op `index` reads (see layer-rows.ts), on the first `samples`
 * samples of the data (default 1,024) and at most 20,000 rows drawn at random (seeded).
 */
export async function inputGram(graph: Graph, index: number, data: Dataset, options: { samples?: number; seed?: number } = {}): Promise<Float64Array> {
  const op = graph.ops[index] as Factorable;
  if (!matrixShape(graph, op)) throw usageError(`${graph.name}: ${describeOp(op, index)} is not a dense layer or a 1x1 convolution`);
  const count = Math.min(data.count, options.samples ?? 1024);
  const inputs = graph.inputs.map((t, k) => data.inputs[k].subarray(0, count * numel(graph.tensors[t].shape)));
  const values = (await runFloat(graph, inputs, { keep: [op.inputs[0]] })).get(op.inputs[0])!;
  const rows = layerRows(graph, op);
  const x = gather(rows, values, chooseRows(count, rows.perSample, 20_000, seededRandom(options.seed ?? 1)));
  return gramOf(x, rows.width);
}

/**
 * W's factors [N, r] and [r, K]: of W's own SVD, or, given the inputs' Gram matrix, of the SVD of
 * W L mapped back through L^-1, each factor taking the square root of the singular values (so
 * both have the same scale, which int8 per-channel quantization treats alike).
 */
function factors(w: Float32Array, n: number, k: number, rank: number, gram?: Float64Array): { second: Float32Array; first: Float32Array } {
  let l: Float64Array | undefined;
  let m = Float64Array.from(w);
  if (gram) {
    // A ridge keeps C positive definite when some inputs never vary (dead channels).
    let trace = 0;
    for (let i = 0; i < k; i++) trace += gram[i * k + i];
    const ridged = Float64Array.from(gram);
    for (let i = 0; i < k; i++) ridged[i * k + i] += 1e-6 * (trace / k) + 1e-12;
    l = cholesky(ridged, k);
    m = new Float64Array(n * k);
    for (let o = 0; o < n; o++) for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let i = j; i < k; i++) sum += w[o * k + i] * l[i * k + j];
      m[o * k + j] = sum;
    }
  }
  const { u, s, v, k: full } = svd(m, n, k);
  const first = new Float32Array(rank * k);
  const second = new Float32Array(n * rank);
  const column = new Float64Array(k);
  for (let j = 0; j < rank; j++) {
    const root = Math.sqrt(s[j]);
    for (let c = 0; c < k; c++) column[c] = v[c * full + j];
    if (l) solveTransposed(l, k, column, 1, 0);
    for (let c = 0; c < k; c++) first[j * k + c] = root * column[c];
    for (let o = 0; o < n; o++) second[o * rank + j] = root * u[o * full + j];
  }
  return { second, first };
}

/**
 * The graph with op `index` replaced by two layers through `rank` channels. Any rank from 1 to
 * min(N, K) is accepted (at min(N, K) the factors reproduce W up to rounding). `gram`, from
 * inputGram, makes the truncation data-aware.
 */
export function factorizeLayer(graph: Graph, index: number, rank: number, gram?: Float64Array): Graph {
  const op = graph.ops[index] as Factorable;
  const where = `${graph.name}: ${describeOp(op, index)}`;
  const shape = op ? matrixShape(graph, op) : undefined;
  if (!shape) throw usageError(`${where} is not a dense layer or a 1x1 convolution; only those are factorized`);
  const [n, k] = shape;
  if (!Number.isInteger(rank) || rank < 1 || rank > Math.min(n, k)) throw usageError(`${where}: rank must be a whole number from 1 to ${Math.min(n, k)}, got ${rank}`);
  const weightsIndex = op.inputs[1];
  if (graph.ops.some((other, j) => j !== index && other.inputs.includes(weightsIndex))) throw usageError(`${where}: its weights are shared with another op`);

  if (gram && gram.length !== k * k) throw usageError(`${where}: the Gram matrix must be ${k}x${k}`);
  const weights = graph.tensors[weightsIndex];
  const { first, second } = factors(weights.data as Float32Array, n, k, rank, gram);

  const tensors = [...graph.tensors];
  const output = graph.tensors[op.outputs[0]];
  const isConv = op.kind === 'conv2d';
  tensors.push({ name: `${weights.name}/low_rank`, shape: isConv ? [rank, 1, 1, k] : [rank, k], dtype: 'float32', data: first });
  const firstWeights = tensors.length - 1;
  tensors.push({ name: `${output.name}/low_rank`, shape: [...output.shape.slice(0, -1), rank], dtype: 'float32' });
  const middle = tensors.length - 1;
  tensors[weightsIndex] = { ...weights, shape: isConv ? [n, 1, 1, rank] : [n, rank], data: second };

  const origin = op.origin ? `${op.origin}, low rank ${rank}` : `low rank ${rank}`;
  const ops: Op[] =
    op.kind === 'conv2d'
      ? [
          // A 1x1 window ignores dilation; none keeps the layer trainable (tfjs has no dilated gradients).
          { ...op, inputs: [op.inputs[0], firstWeights], outputs: [middle], attrs: { ...op.attrs, dilation: [1, 1], activation: 'none' }, origin },
          { ...op, inputs: [middle, ...op.inputs.slice(1)], attrs: { stride: [1, 1], dilation: [1, 1], padding: 'valid', activation: op.attrs.activation } },
        ]
      : [
          { ...op, inputs: [op.inputs[0], firstWeights], outputs: [middle], attrs: { ...op.attrs, activation: 'none' }, origin },
          { ...op, inputs: [middle, ...op.inputs.slice(1)] },
        ];
  const result: Graph = { ...graph, tensors, ops: [...graph.ops.slice(0, index), ...ops, ...graph.ops.slice(index + 1)] };
  verifyGraph(result);
  return result;
}

export interface RankChoice {
  rank: number;
  graph: Graph;
  /** Relative squared error of the outputs (softmax outputs compared on their logits) against the unfactorized graph. */
  error: number;
  /** Multiply-accumulates per sample and parameters saved by the factorization. */
  saved: { macs: number; params: number };
}

export interface RankOptions {
  /** Largest relative squared error of the outputs allowed. Default 0.01. */
  tolerance?: number;
  /** Samples the error is measured on (the first ones). Default 512. */
  samples?: number;
  /** Truncate for the layer's outputs on the data (default) or for the weights alone. */
  dataAware?: boolean;
  /** Seed of the rows the Gram matrix samples (default 1). */
  seed?: number;
}

/**
 * The smallest rank (the largest saving) at which factorizing op `index` keeps the outputs within
 * `tolerance` of the graph's on the data, by bisection over the ranks that save anything; undefined
 * when none does.
 */
export async function chooseRank(graph: Graph, index: number, data: Dataset, options: RankOptions = {}): Promise<RankChoice | undefined> {
  const tolerance = options.tolerance ?? 0.01;
  const candidate = lowRankCandidates(graph).find((c) => c.op === index);
  if (!candidate) return undefined;
  const count = Math.min(data.count, options.samples ?? 512);
  const inputs = graph.inputs.map((t, k) => data.inputs[k].subarray(0, count * numel(graph.tensors[t].shape)));
  const compared = distillTargets(graph).map((t) => t.tensor);
  const reference = await runFloat(graph, inputs, { keep: compared });
  let norm = 0;
  for (const t of compared) for (const v of reference.get(t)!) norm += v * v;
  const gram = options.dataAware === false ? undefined : await inputGram(graph, index, data, { samples: count, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const measure = async (rank: number) => {
    const factorized = factorizeLayer(graph, index, rank, gram);
    const outputs = await runFloat(factorized, inputs, { keep: compared });
    let distance = 0;
    for (const t of compared) {
      const [mine, theirs] = [outputs.get(t)!, reference.get(t)!];
      for (let i = 0; i < mine.length; i++) distance += (mine[i] - theirs[i]) ** 2;
    }
    return { graph: factorized, error: norm > 0 ? distance / norm : distance };
  };
  let best: RankChoice | undefined;
  let [low, high] = [1, candidate.maxRank];
  while (low <= high) {
    const rank = Math.floor((low + high) / 2);
    const { graph: factorized, error } = await measure(rank);
    if (error <= tolerance) {
      const positions = numel(graph.tensors[graph.ops[index].outputs[0]].shape) / candidate.n;
      const params = candidate.n * candidate.k - rank * (candidate.n + candidate.k);
      best = { rank, graph: factorized, error, saved: { macs: positions * params, params } };
      high = rank - 1;
    } else {
      low = rank + 1;
    }
  }
  return best;
}
