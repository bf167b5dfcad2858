// CONV_2D on the host, as TFLite Micro's reference kernels compute it: int8 and 16x8 with
// per-channel requantization (ConvPerChannel), float32 accumulating in float32 in (ky, kx, channel) order.

import { allocate } from '../ir/dtype.ts';
import type { Conv2DOp, Graph } from '../ir/types.ts';
import { type ConvParams, lowerConv2D } from '../lower/conv.ts';
import type { FloatClamp, Int8Requant } from '../lower/requant.ts';
import { type Kernel, type QuantizedActivations, type QuantizedBias, clampFloat, requantizeAcc } from './kernel.ts';
import { forEachWindow } from './window.ts';

const f32 = Math.fround;

/** input NHWC, filter OHWI, bias per output channel. */
export function conv2dQuantized(p: ConvParams & Int8Requant, input: QuantizedActivations, filter: Int8Array, bias?: QuantizedBias): QuantizedActivations {
  const { inHeight, inWidth, inChannels: depth, outChannels, filterHeight, filterWidth, dilationH, dilationW, inputOffset } = p;
  const out = allocate(p.dtype, p.batches * p.outHeight * p.outWidth * outChannels) as QuantizedActivations;
  forEachWindow(p, (w) => {
    const outBase = w.pixel * outChannels;
    for (let oc = 0; oc < outChannels; oc++) {
      let acc = 0;
      for (let ky = w.kyStart; ky < w.kyEnd; ky++) {
        const inRow = (w.batch * inHeight + w.inY + ky * dilationH) * inWidth + w.inX;
        const filterRow = (oc * filterHeight + ky) * filterWidth;
        for (let kx = w.kxStart; kx < w.kxEnd; kx++) {
          const i = (inRow + kx * dilationW) * depth;
          const f = (filterRow + kx) * depth;
          for (let c = 0; c < depth; c++) acc += filter[f + c] * (input[i + c] + inputOffset);
        }
      }
      if (bias) acc += Number(bias[oc]);
      out[outBase + oc] = requantizeAcc(p, acc, oc);
    }
  });
  return out;
}

export function conv2dFloat(p: ConvParams & FloatClamp, input: Float32Array, filter: Float32Array, bias?: Float32Array): Float32Array {
  const { inHeight, inWidth, inChannels: depth, outChannels, filterHeight, filterWidth, dilationH, dilationW } = p;
  const out = new Float32Array(p.batches * p.outHeight * p.outWidth * outChannels);
  forEachWindow(p, (w) => {
    const outBase = w.pixel * outChannels;
    for (let oc = 0; oc < outChannels; oc++) {
      let total = 0;
      for (let ky = w.kyStart; ky < w.kyEnd; ky++) {
        const inRow = (w.batch * inHeight + w.inY + ky * dilationH) * inWidth + w.inX;
        const filterRow = (oc * filterHeight + ky) * filterWidth;
        for (let kx = w.kxStart; kx < w.kxEnd; kx++) {
          const i = (inRow + kx * dilationW) * depth;
          const f = (filterRow + kx) * depth;
          for (let c = 0; c < depth; c++) total = f32(total + f32(input[i + c] * filter[f + c]));
        }
      }
      out[outBase + oc] = clampFloat(f32(total + (bias ? bias[oc] : 0)), p.actMin, p.actMax);
    }
  });
  return out;
}

export function prepareConv2D(graph: Graph, op: Conv2DOp): Kernel {
  const p = lowerConv2D(graph, op);
  if (p.dtype !== 'float32') return ([x, w, b]) => conv2dQuantized(p, x as QuantizedActivations, w as Int8Array, b as QuantizedBias | undefined);
  return ([x, w, b]) => conv2dFloat(p, x as Float32Array, w as Float32Array, b as Float32Array | undefined);
}
