// Faster cpu-backend kernels for training the zoo's batch-normalised models. tfjs computes a
// broadcasting binary op (a per-channel scale or shift of a whole batch of activations, which
// batch norm's forward and backward passes are made of) by building index arrays for every
// element, and tiles the same way; for DS-CNN those took most of a training step. These walk the
// flat arrays with an odometer and compute each element as the stock kernels do (in double
// precision, stored as float32): the same bits. Means over the leading axes (batch norm's
// moments) sum in double precision without transposing. Anything else goes to the stock kernel.

import { backend_util, getKernel, registerKernel, unregisterKernel, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { SumAttrs } from '@tensorflow/tfjs-core';
import { sumOverLeadingAxes } from '../../src/float/fast-kernels.ts';

type Fast = (inputs: Record<string, TensorInfo>, cpu: MathBackendCPU, attrs: unknown) => TensorInfo | undefined;

const values = (cpu: MathBackendCPU, t: TensorInfo) => cpu.data.get(t.dataId).values as Float32Array;

/** Element strides of `shape` seen from a broadcast `out` shape: 0 along broadcast axes. */
function broadcastStrides(shape: number[], out: number[]): number[] {
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let d = out.length - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : stride;
    stride *= padded[d];
  }
  return strides;
}

/** Calls `row(outAt, aAt, bAt)` for every innermost row of `out`, walking the outer axes as an odometer. */
function forRows(out: number[], aStrides: number[], bStrides: number[], row: (outAt: number, aAt: number, bAt: number) => void): void {
  const rank = out.length;
  const inner = out[rank - 1];
  const rows = util.sizeFromShape(out) / inner;
  const loc = new Array<number>(rank).fill(0);
  let aAt = 0;
  let bAt = 0;
  for (let r = 0; r < rows; r++) {
    row(r * inner, aAt, bAt);
    for (let d = rank - 2; d >= 0; d--) {
      loc[d]++;
      aAt += aStrides[d];
      bAt += bStrides[d];
      if (loc[d] < out[d]) break;
      aAt -= aStrides[d] * out[d];
      bAt -= bStrides[d] * out[d];
      loc[d] = 0;
    }
  }
}

type BinaryKind = 'add' | 'sub' | 'mul' | 'div' | 'squaredDifference';

/** One innermost row; a loop per kind, so that each stays monomorphic and fast. */
function binaryRow(kind: BinaryKind, r: Float32Array, o: number, as: Float32Array, i: number, aStep: number, bs: Float32Array, j: number, bStep: number, n: number): void {
  switch (kind) {
    case 'add':
      for (let k = 0; k < n; k++) r[o + k] = as[i + k * aStep] + bs[j + k * bStep];
      return;
    case 'sub':
      for (let k = 0; k < n; k++) r[o + k] = as[i + k * aStep] - bs[j + k * bStep];
      return;
    case 'mul':
      for (let k = 0; k < n; k++) r[o + k] = as[i + k * aStep] * bs[j + k * bStep];
      return;
    case 'div':
      for (let k = 0; k < n; k++) r[o + k] = as[i + k * aStep] / bs[j + k * bStep];
      return;
    case 'squaredDifference':
      for (let k = 0; k < n; k++) {
        const d = as[i + k * aStep] - bs[j + k * bStep];
        r[o + k] = d * d;
      }
  }
}

function binary(kind: BinaryKind): Fast {
  return ({ a, b }, cpu) => {
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const out = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (out.length === 0 || util.sizeFromShape(out) === 0) return undefined;
    const [as, bs] = [values(cpu, a), values(cpu, b)];
    const result = new Float32Array(util.sizeFromShape(out));
    const aStrides = broadcastStrides(a.shape, out);
    const bStrides = broadcastStrides(b.shape, out);
    const [aStep, bStep] = [aStrides[out.length - 1], bStrides[out.length - 1]];
    const inner = out[out.length - 1];
    forRows(out, aStrides, bStrides, (o, i, j) => binaryRow(kind, result, o, as, i, aStep, bs, j, bStep, inner));
    return cpu.makeTensorInfo(out, 'float32', result);
  };
}

const tile: Fast = ({ x }, cpu, attrs) => {
  const { reps } = attrs as { reps: number[] };
  if (x.dtype !== 'float32' || x.shape.length === 0) return undefined;
  const out = x.shape.map((d, i) => d * reps[i]);
  if (util.sizeFromShape(out) === 0) return undefined;
  const xs = values(cpu, x);
  const result = new Float32Array(util.sizeFromShape(out));
  const strides = util.computeStrides(x.shape);
  const rank = out.length;
  const inner = out[rank - 1];
  const width = x.shape[rank - 1];
  const loc = new Array<number>(rank).fill(0);
  for (let o = 0; o < result.length; o += inner) {
    let at = 0;
    for (let d = 0; d < rank - 1; d++) at += (loc[d] % x.shape[d]) * strides[d];
    for (let k = 0; k < inner; k++) result[o + k] = xs[at + (k % width)];
    for (let d = rank - 2; d >= 0; d--) {
      if (++loc[d] < out[d]) break;
      loc[d] = 0;
    }
  }
  return cpu.makeTensorInfo(out, 'float32', result);
};

/** A float mean over leading axes (batch norm's moments: over batch and positions) without transposing. */
const meanLeading: Fast = ({ x }, cpu, attrs) => {
  const r = sumOverLeadingAxes(x, cpu, attrs as SumAttrs);
  return r && cpu.makeTensorInfo(r.shape, 'float32', Float32Array.from(r.sums, (s) => s / r.count));
};

const FAST: Record<string, Fast> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Multiply: binary('mul'),
  RealDiv: binary('div'),
  SquaredDifference: binary('squaredDifference'),
  Tile: tile,
  Mean: meanLeading,
};

const installed = new Set<string>();

/** Puts these kernels in front of the cpu backend's own (once per process). */
export function useFastBroadcastKernels(): void {
  for (const [name, fast] of Object.entries(FAST)) {
    if (installed.has(name)) continue;
    const stock = getKernel(name, 'cpu');
    if (!stock) throw new Error(`the cpu backend has no ${name} kernel: import '@tensorflow/tfjs-backend-cpu' first`);
    const kernelFunc: KernelFunc = (args) => fast(args.inputs as Record<string, TensorInfo>, args.backend as MathBackendCPU, args.attrs) ?? stock.kernelFunc(args);
    unregisterKernel(name, 'cpu');
    registerKernel({ ...stock, kernelFunc });
    installed.add(name);
  }
}
