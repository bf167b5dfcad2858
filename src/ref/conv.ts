// CONV_2D and TRANSPOSE_CONV on the host, as TFLite Micro's reference kernels compute them: int8
// and 16x8 with per-channel requantization (ConvPerChannel, TransposeConv), float32 accumulating in
// float32 in the order the reference adds.

import { allocate } from '../ir/dtype.ts';
import type { Conv2DOp, Graph, TransposeConv2DOp } from '../ir/types.ts';
import { type ConvParams, lowerConv2D, lowerTransposeConv2D } from '../lower/conv.ts';
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

/**
 * The input rows (or columns) [first, end) whose filter tap `o + pad - i * stride` lands on output
 * row `o` of a transpose conv, in ascending order.
 */
function transposeSources(o: number, pad: number, stride: number, taps: number, size: number): [number, number] {
  const reach = o + pad;
  const first = Math.max(0, Math.ceil((reach - taps + 1) / stride));
  return [first, Math.min(size, Math.floor(reach / stride) + 1)];
}

/**
 * TFLite scatters every input pixel over the output; gathered here per output element, the
 * contributions come in the order the scatter adds them (input row, column, channel), which
 * float32 needs and int32 does not mind. `dot` adds one input pixel's channels against one
 * filter tap; `finish` turns the sum into the output value.
 */
function transposeConv<T extends Int8Array | Float32Array>(
  p: ConvParams,
  out: T,
  dot: (acc: number, input: number, filter: number) => number,
  finish: (acc: number, oc: number) => number,
): T {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideH, strideW, padTop, padLeft } = p;
  for (let b = 0; b < p.batches; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const [y0, y1] = transposeSources(oy, padTop, strideH, filterHeight, inHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const [x0, x1] = transposeSources(ox, padLeft, strideW, filterWidth, inWidth);
        const base = ((b * outHeight + oy) * outWidth + ox) * outChannels;
        for (let oc = 0; oc < outChannels; oc++) {
          let acc = 0;
          for (let iy = y0; iy < y1; iy++) {
            const ky = oy + padTop - iy * strideH;
            for (let ix = x0; ix < x1; ix++) {
              const kx = ox + padLeft - ix * strideW;
              acc = dot(acc, ((b * inHeight + iy) * inWidth + ix) * inChannels, ((oc * filterHeight + ky) * filterWidth + kx) * inChannels);
            }
          }
          out[base + oc] = finish(acc, oc);
        }
      }
    }
  }
  return out;
}

export function prepareTransposeConv2D(graph: Graph, op: TransposeConv2DOp): Kernel {
  const p = lowerTransposeConv2D(graph, op);
  const size = p.batches * p.outHeight * p.outWidth * p.outChannels;
  const depth = p.inChannels;
  if (p.dtype === 'int8') {
    const q = p;
    return ([x, w, b]) => {
      const [input, filter, bias] = [x as Int8Array, w as Int8Array, b as Int32Array | undefined];
      return transposeConv(
        p,
        new Int8Array(size),
        (acc, i, f) => {
          for (let c = 0; c < depth; c++) acc += (input[i + c] + q.inputOffset) * filter[f + c];
          return acc;
        },
        (acc, oc) => requantizeAcc(q, acc + (bias ? bias[oc] : 0), oc),
      );
    };
  }
  return ([x, w, b]) => {
    const [input, filter, bias] = [x as Float32Array, w as Float32Array, b as Float32Array | undefined];
    return transposeConv(
      p,
      new Float32Array(size),
      (acc, i, f) => {
        for (let c = 0; c < depth; c++) acc = f32(acc + f32(input[i + c] * filter[f + c]));
        return acc;
      },
      // TFLite adds the bias only when there is one.
      (acc, oc) => clampFloat(bias ? f32(acc + bias[oc]) : acc, p.actMin, p.actMax),
    );
  };
}
