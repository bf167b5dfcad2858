// DEPTHWISE_CONV_2D on the host, as TFLite Micro's reference kernels compute it: output channel
// c * M + m filters input channel c; int8 and 16x8 with per-channel requantization
// (DepthwiseConvPerChannel), float32 accumulating in float32 in (ky, kx) order.

import { allocate } from '../ir/dtype.ts';
import type { DepthwiseConv2DOp, Graph } from '../ir/types.ts';
import { type DepthwiseConvParams, lowerDepthwiseConv2D } from '../lower/conv.ts';
import type { FloatClamp, Int8Requant } from '../lower/requant.ts';
import { type Kernel, type QuantizedActivations, type QuantizedBias, clampFloat, requantizeAcc } from './kernel.ts';
import { forEachWindow } from './window.ts';

const f32 = Math.fround;

/** input NHWC, filter 1HW(C*M), bias per output channel. */
export function depthwiseConv2dQuantized(p: DepthwiseConvParams & Int8Requant, input: QuantizedActivations, filter: Int8Array, bias?: QuantizedBias): QuantizedActivations {
  const { inHeight, inWidth, inChannels, outChannels, filterWidth, dilationH, dilationW, depthMultiplier, inputOffset } = p;
  const out = allocate(p.dtype, p.batches * p.outHeight * p.outWidth * outChannels) as QuantizedActivations;
  forEachWindow(p, (w) => {
    const outBase = w.pixel * outChannels;
    for (let oc = 0; oc < outChannels; oc++) {
      const ic = Math.floor(oc / depthMultiplier);
      let acc = 0;
      for (let ky = w.kyStart; ky < w.kyEnd; ky++) {
        const inRow = (w.batch * inHeight + w.inY + ky * dilationH) * inWidth + w.inX;
        for (let kx = w.kxStart; kx < w.kxEnd; kx++) {
          acc += filter[(ky * filterWidth + kx) * outChannels + oc] * (input[(inRow + kx * dilationW) * inChannels + ic] + inputOffset);
        }
      }
      if (bias) acc += Number(bias[oc]);
      out[outBase + oc] = requantizeAcc(p, acc, oc);
    }
  });
  return out;
}

export function depthwiseConv2dFloat(p: DepthwiseConvParams & FloatClamp, input: Float32Array, filter: Float32Array, bias?: Float32Array): Float32Array {
  const { inHeight, inWidth, inChannels, outChannels, filterWidth, dilationH, dilationW, depthMultiplier } = p;
  const out = new Float32Array(p.batches * p.outHeight * p.outWidth * outChannels);
  forEachWindow(p, (w) => {
    const outBase = w.pixel * outChannels;
    for (let oc = 0; oc < outChannels; oc++) {
      const ic = Math.floor(oc / depthMultiplier);
      let total = 0;
      for (let ky = w.kyStart; ky < w.kyEnd; ky++) {
        const inRow = (w.batch * inHeight + w.inY + ky * dilationH) * inWidth + w.inX;
        for (let kx = w.kxStart; kx < w.kxEnd; kx++) {
          total = f32(total + f32(input[(inRow + kx * dilationW) * inChannels + ic] * filter[(ky * filterWidth + kx) * outChannels + oc]));
        }
      }
      out[outBase + oc] = clampFloat(f32(total + (bias ? bias[oc] : 0)), p.actMin, p.actMax);
    }
  });
  return out;
}

export function prepareDepthwiseConv2D(graph: Graph, op: DepthwiseConv2DOp): Kernel {
  const p = lowerDepthwiseConv2D(graph, op);
  if (p.dtype !== 'float32') return ([x, w, b]) => depthwiseConv2dQuantized(p, x as QuantizedActivations, w as Int8Array, b as QuantizedBias | undefined);
  return ([x, w, b]) => depthwiseConv2dFloat(p, x as Float32Array, w as Float32Array, b as Float32Array | undefined);
}
