// A layer's input as rows its weights see: for a conv, the receptive field of one output
// position; for a dense layer, one input row. Least-squares refits, data-aware factorization and
// adaptive rounding work on these rows, drawn at random when a layer has too many.

import { shuffled } from './train.ts';
import { numel } from '../ir/dtype.ts';
import { windowOutputSize, windowPadBefore } from '../ir/shape.ts';
import type { Conv2DOp, DepthwiseConv2DOp, FullyConnectedOp, Graph } from '../ir/types.ts';

export type Layer = Conv2DOp | FullyConnectedOp;

/**
 * The rows of a layer's input as its weights see them: for a conv, the receptive field of one
 * output position (taps in filter order, channels innermost, zero where the window hangs over
 * the padding); for a dense layer, one input row. Weights [O, ...] are then [O, width] and the
 * pre-activation output of a row is weights times row plus bias. A depthwise conv reads the same
 * receptive field, each output channel only its own input channel's taps.
 */
export interface Rows {
  /** Rows per sample. */
  perSample: number;
  width: number;
  /** Writes row `row` of sample `sample` of `values` (the layer's input for all samples) into `out` at `at`. */
  read(values: Float32Array, sample: number, row: number, out: Float64Array, at: number): void;
}

export function layerRows(graph: Graph, op: Layer | DepthwiseConv2DOp): Rows {
  const input = graph.tensors[op.inputs[0]].shape;
  const weights = graph.tensors[op.inputs[1]].shape;
  const perSampleValues = numel(input);
  if (op.kind === 'fully_connected') {
    const depth = weights[1];
    return {
      perSample: perSampleValues / depth,
      width: depth,
      read: (values, sample, row, out, at) => {
        const from = sample * perSampleValues + row * depth;
        for (let k = 0; k < depth; k++) out[at + k] = values[from + k];
      },
    };
  }
  const [images, height, width, channels] = input;
  const [, kh, kw] = weights;
  const { stride, dilation, padding } = op.attrs;
  const outH = windowOutputSize(height, kh, stride[0], dilation[0], padding);
  const outW = windowOutputSize(width, kw, stride[1], dilation[1], padding);
  const top = windowPadBefore(height, kh, stride[0], dilation[0], padding);
  const left = windowPadBefore(width, kw, stride[1], dilation[1], padding);
  return {
    perSample: images * outH * outW,
    width: kh * kw * channels,
    read: (values, sample, row, out, at) => {
      const image = Math.floor(row / (outH * outW));
      const oy = Math.floor(row / outW) % outH;
      const ox = row % outW;
      const base = sample * perSampleValues + image * height * width * channels;
      for (let y = 0; y < kh; y++) {
        const iy = oy * stride[0] - top + y * dilation[0];
        for (let x = 0; x < kw; x++) {
          const ix = ox * stride[1] - left + x * dilation[1];
          const tap = at + (y * kw + x) * channels;
          if (iy < 0 || iy >= height || ix < 0 || ix >= width) {
            out.fill(0, tap, tap + channels);
            continue;
          }
          const from = base + (iy * width + ix) * channels;
          for (let c = 0; c < channels; c++) out[tap + c] = values[from + c];
        }
      }
    },
  };
}

/** Chosen rows of a layer: (sample, row) pairs, drawn without replacement when there are too many. */
export function chooseRows(count: number, perSample: number, limit: number, random: () => number): Int32Array {
  const total = count * perSample;
  if (total <= limit) return Int32Array.from({ length: total }, (_, i) => i);
  return shuffled(total, random).subarray(0, limit).sort();
}

/** The matrix of chosen rows, [rows, width], read from all samples' values of the layer's input. */
export function gather(rows: Rows, values: Float32Array, chosen: Int32Array): Float64Array {
  const out = new Float64Array(chosen.length * rows.width);
  chosen.forEach((r, i) => rows.read(values, Math.floor(r / rows.perSample), r % rows.perSample, out, i * rows.width));
  return out;
}

/** X^T X of rows [n, width] (row-major), symmetric [width, width]. */
export function gramOf(x: Float64Array, width: number): Float64Array {
  const gram = new Float64Array(width * width);
  for (let r = 0; r < x.length; r += width) {
    for (let i = 0; i < width; i++) {
      const xi = x[r + i];
      if (xi !== 0) for (let j = 0; j <= i; j++) gram[i * width + j] += xi * x[r + j];
    }
  }
  for (let i = 0; i < width; i++) for (let j = 0; j < i; j++) gram[j * width + i] = gram[i * width + j];
  return gram;
}
