// Faster cpu-backend kernels for the backward pass of fine-tuning. tfjs's own read elements one
// by one through TensorBuffer.get (depthwise weight gradient, max-pool gradient) or transpose a
// whole tensor to sum over its leading axes (every bias gradient); together they took about half
// of a fine-tuning step of the Fashion-MNIST CNN. These walk the flat arrays and add each output's
// terms in the same order, in double precision, as the stock kernels: the results are the same
// bits. Cases they do not cover (dilation, other dtypes or axes) go to the stock kernel.

import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { useFastConvBackpropFilter } from './conv-backprop.ts';

type Fast = (inputs: Record<string, TensorInfo>, cpu: MathBackendCPU, attrs: unknown) => TensorInfo | undefined;

const values = (cpu: MathBackendCPU, t: TensorInfo) => cpu.data.get(t.dataId).values as Float32Array;
const unit = (d: number | number[] | undefined) => (typeof d === 'number' ? [d] : (d ?? [1])).every((v) => v === 1);

/** dW[fh, fw, inC, m] = sum over batch and output positions of x at the tap times dy of channel inC*M+m. */
const depthwiseBackpropFilter: Fast = ({ x, dy }, cpu, attrs) => {
  const { strides, pad, dimRoundingMode, filterShape, dilations } = attrs as DepthwiseConv2dNativeBackpropFilterAttrs;
  if (!unit(dilations)) return undefined;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, true);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const multiplier = outChannels / inChannels;
  const [xs, dys] = [values(cpu, x), values(cpu, dy)];
  // [fh, fw, inC, M] is [fh, fw, outC] with outC = inC * M + m, the layout of dy's channels.
  const sums = new Float64Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyAt = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * strideHeight - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xAt = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const tapAt = (wR * filterWidth + wC) * outChannels;
            for (let d2 = 0; d2 < outChannels; d2++) sums[tapAt + d2] += xs[xAt + Math.floor(d2 / multiplier)] * dys[dyAt + d2];
          }
        }
      }
    }
  }
  return cpu.makeTensorInfo(filterShape, 'float32', Float32Array.from(sums));
};

/**
 * dx: each window's gradient goes to its first largest input (rows, then columns, as tfjs picks
 * it); windows are visited in output order, which is the order tfjs adds overlapping ones in.
 */
const maxPoolGrad: Fast = ({ dy, input }, cpu, attrs) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as MaxPoolGradAttrs;
  if (input.dtype !== 'float32') return undefined;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const [xs, dys] = [values(cpu, input), values(cpu, dy)];
  const dx = new Float64Array(xs.length);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const rows = [Math.max(0, yR * strideHeight - top), Math.min(inHeight, yR * strideHeight - top + filterHeight)];
      for (let yC = 0; yC < outWidth; yC++) {
        const cols = [Math.max(0, yC * strideWidth - left), Math.min(inWidth, yC * strideWidth - left + filterWidth)];
        const dyAt = ((b * outHeight + yR) * outWidth + yC) * inChannels;
        for (let d = 0; d < inChannels; d++) {
          let best = -1;
          let max = Number.NEGATIVE_INFINITY;
          for (let xR = rows[0]; xR < rows[1]; xR++) {
            for (let xC = cols[0]; xC < cols[1]; xC++) {
              const at = ((b * inHeight + xR) * inWidth + xC) * inChannels + d;
              if (xs[at] > max) {
                max = xs[at];
                best = at;
              }
            }
          }
          if (best >= 0) dx[best] += dys[dyAt + d];
        }
      }
    }
  }
  return cpu.makeTensorInfo(input.shape, 'float32', Float32Array.from(dx));
};

/**
 * Sums of a float tensor over its leading axes (a reduction whose axes are 0..k-1), without
 * transposing: the sums, how many values each one adds, and the result's shape. Undefined for any
 * other reduction.
 */
export function sumOverLeadingAxes(x: TensorInfo, cpu: MathBackendCPU, attrs: SumAttrs): { sums: Float64Array; count: number; shape: number[] } | undefined {
  const { axis, keepDims } = attrs;
  if (x.dtype !== 'float32') return undefined;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length === x.shape.length || axes.some((a, i) => a !== i)) return undefined;
  const kept = x.shape.slice(axes.length);
  const inner = util.sizeFromShape(kept);
  const xs = values(cpu, x);
  const sums = new Float64Array(inner);
  for (let row = 0; row < xs.length; row += inner) for (let i = 0; i < inner; i++) sums[i] += xs[row + i];
  return { sums, count: xs.length / inner, shape: keepDims ? [...axes.map(() => 1), ...kept] : kept };
}

/** A float sum over leading axes (a bias gradient: over batch and positions). */
const sumLeading: Fast = ({ x }, cpu, attrs) => {
  const r = sumOverLeadingAxes(x, cpu, attrs as SumAttrs);
  return r && cpu.makeTensorInfo(r.shape, 'float32', Float32Array.from(r.sums));
};

const FAST: Record<string, Fast> = {
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  MaxPoolGrad: maxPoolGrad,
  Sum: sumLeading,
};

const installed = new Set<string>();

/** Puts these kernels (and the conv weight gradient's) in front of the cpu backend's own. */
export function useFastTrainingKernels(): void {
  useFastConvBackpropFilter();
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
