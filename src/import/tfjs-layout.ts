// TensorFlow's weight layouts and the IR's, and inference batch normalization as a per-channel
// scale and offset: what both TF.js front ends (layers and graph models) convert.

/** Reorders a row-major array of `shape` so that output axis i is input axis perm[i]. */
function permute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, stride = 1; d >= 0; d--) {
    inStrides[d] = stride;
    stride *= shape[d];
  }
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[from];
    for (let d = rank - 1; d >= 0; d--) {
      from += strides[d];
      if (++index[d] < outShape[d]) break;
      from -= strides[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

export interface Weights {
  shape: number[];
  data: Float32Array;
}

/** Conv2D kernel [H, W, in, out] -> the IR's OHWI. */
export const hwioToOhwi = (w: Weights): Weights => ({ shape: [w.shape[3], w.shape[0], w.shape[1], w.shape[2]], data: permute(w.data, w.shape, [3, 0, 1, 2]) });

/** Transposed-convolution kernel [H, W, out, in] (the filter of the convolution it inverts) -> the IR's OHWI. */
export const hwoiToOhwi = (w: Weights): Weights => ({ shape: [w.shape[2], w.shape[0], w.shape[1], w.shape[3]], data: permute(w.data, w.shape, [2, 0, 1, 3]) });

/** Depthwise kernel [H, W, C, M] -> the IR's [1, H, W, C*M]: the same values in the same order. */
export const hwcmToDepthwise = (w: Weights): Weights => ({ shape: [1, w.shape[0], w.shape[1], w.shape[2] * w.shape[3]], data: w.data });

/** Dense / MatMul kernel [in, out] -> the IR's [units, depth]. */
export const transpose2d = (w: Weights): Weights => ({ shape: [w.shape[1], w.shape[0]], data: permute(w.data, w.shape, [1, 0]) });

/**
 * gamma * (x - mean) / sqrt(variance + epsilon) + beta as x * scale + offset, computed in double
 * and rounded once. A missing gamma or beta (Keras's scale=false / center=false) is 1 or 0.
 */
export function batchNormAffine(
  mean: Float32Array,
  variance: Float32Array,
  epsilon: number,
  gamma?: Float32Array,
  beta?: Float32Array,
): { scale: Float32Array; offset: Float32Array } {
  const factor = (c: number) => (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
  return { scale: mean.map((_, c) => factor(c)), offset: mean.map((m, c) => (beta ? beta[c] : 0) - m * factor(c)) };
}

/**
 * A recurrent layer's kernel [in, gates x units] (its bias [gates x units]) as one [units, in]
 * matrix ([units] vector) per gate: Keras stacks the gates side by side along the last axis.
 */
export function splitGates(w: Weights, gates: number): Weights[] {
  const columns = w.shape.at(-1)!;
  const units = columns / gates;
  if (w.shape.length === 1) return Array.from({ length: gates }, (_, g) => ({ shape: [units], data: w.data.slice(g * units, (g + 1) * units) }));
  const rows = w.shape[0];
  return Array.from({ length: gates }, (_, g) => {
    const block = new Float32Array(units * rows);
    for (let u = 0; u < units; u++) for (let i = 0; i < rows; i++) block[u * rows + i] = w.data[i * columns + g * units + u];
    return { shape: [units, rows], data: block };
  });
}
