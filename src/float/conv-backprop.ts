// A faster weight gradient for channels-last convolutions on tfjs's cpu backend. The stock kernel
// reads every element through TensorBuffer.get and, for this example's CNN, spent about two thirds
// of each training step there; walking the flat arrays directly makes that step about three
// times faster, which buys three times the training data in the same minutes.

import { backend_util, getKernel, registerKernel, unregisterKernel, type Conv2DBackpropFilterAttrs, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

const KERNEL = 'Conv2DBackpropFilter';

/** dW[fh, fw, inC, outC] = sum over batch and output positions of x at the tap times dy; NHWC only. */
export const conv2dBackpropFilterNhwc: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const cpu = backend as MathBackendCPU;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xs = cpu.data.get(x.dataId).values as Float32Array;
  const dys = cpu.data.get(dy.dataId).values as Float32Array;
  // Sums in double precision, as the stock kernel does, so long sums over a batch keep their digits.
  const sums = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
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
            const tapAt = (wR * filterWidth + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = xs[xAt + d1];
              // After a ReLU many inputs are zero; they add nothing.
              if (xv === 0) continue;
              const row = tapAt + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) sums[row + d2] += xv * dys[dyAt + d2];
            }
          }
        }
      }
    }
  }
  return cpu.makeTensorInfo(filterShape, 'float32', Float32Array.from(sums));
};

/** Puts the NHWC kernel in front of the cpu backend's own, which still serves NCHW. */
export function useFastConvBackpropFilter(): void {
  const stock = getKernel(KERNEL, 'cpu');
  if (!stock) throw new Error(`the cpu backend has no ${KERNEL} kernel: import '@tensorflow/tfjs-backend-cpu' first`);
  if (stock.kernelFunc === fastOrStock) return;
  stockKernel = stock.kernelFunc;
  unregisterKernel(KERNEL, 'cpu');
  registerKernel({ ...stock, kernelFunc: fastOrStock });
}

let stockKernel: KernelFunc | undefined;

const fastOrStock: KernelFunc = (args) =>
  (args.attrs as unknown as Conv2DBackpropFilterAttrs).dataFormat === 'NCHW' ? stockKernel!(args) : conv2dBackpropFilterNhwc(args);
