// Shape inference: the output shapes an op must have, given its input tensors and attributes.
// Problems are returned as messages (not thrown) so that verify() can report every one at once.

import { numel } from './dtype.ts';
import type { Graph, Op, Padding } from './types.ts';

export type ShapeResult = { shapes: number[][] } | { error: string };

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/** Output size of a sliding window along one spatial axis, as TFLite computes it. */
export function windowOutputSize(size: number, kernel: number, stride: number, dilation: number, padding: Padding): number {
  const effective = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - effective) / stride) + 1;
}

/** Padding before the first element along one axis (TFLite's SAME rule puts the odd pixel after). */
export function windowPadBefore(size: number, kernel: number, stride: number, dilation: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  const out = windowOutputSize(size, kernel, stride, dilation, padding);
  const effective = (kernel - 1) * dilation + 1;
  return Math.max(0, Math.floor(((out - 1) * stride + effective - size) / 2));
}

/**
 * A transpose conv's padding before the output along one axis: TFLite's ComputePaddingHeightWidth
 * applied to the output size (the padding of the forward convolution from the output back to the
 * input), in C integer division, never negative. TFLite takes any output size the model names.
 */
export function transposeConvPadding(outSize: number, kernel: number, stride: number, padding: Padding): number {
  const windows = Math.trunc(padding === 'same' ? (outSize + stride - 1) / stride : (outSize + stride - kernel) / stride);
  return Math.max(0, Math.trunc(((windows - 1) * stride + kernel - outSize) / 2));
}

/** Round half away from zero (TfLiteRound). */
const roundHalfAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

/**
 * The input index nearest to output index `i` along an axis, in float32 as TFLite computes it:
 * scale (in - 1) / (out - 1) with aligned corners (and more than one output), else in / out; a
 * half-pixel offset before scaling; floor (or round with aligned corners); at most in - 1.
 */
export function nearestIndex(i: number, inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const f = Math.fround;
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const at = f(f(i + (halfPixelCenters ? 0.5 : 0)) * scale);
  const index = Math.min(alignCorners ? roundHalfAway(at) : Math.floor(at), inSize - 1);
  return halfPixelCenters ? Math.max(0, index) : index;
}

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Resolves a single -1 in a reshape target against the element count. */
export function resolveReshape(target: readonly number[], count: number): number[] | undefined {
  const unknown = target.filter((d) => d === -1).length;
  if (unknown > 1 || target.some((d) => d < -1)) return undefined;
  if (unknown === 0) return numel(target) === count ? [...target] : undefined;
  const known = numel(target.filter((d) => d !== -1));
  if (known === 0 || count % known !== 0) return undefined;
  return target.map((d) => (d === -1 ? count / known : d));
}

function spatial(
  input: number[],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  padding: Padding,
): [number, number] | string {
  if (input.length !== 4) return `input must be 4-D NHWC, got ${fmt(input)}`;
  if ([...kernel, ...stride, ...dilation].some((v) => !Number.isInteger(v) || v < 1)) {
    return `kernel ${kernel}, stride ${stride} and dilation ${dilation} must be positive integers`;
  }
  const oh = windowOutputSize(input[1], kernel[0], stride[0], dilation[0], padding);
  const ow = windowOutputSize(input[2], kernel[1], stride[1], dilation[1], padding);
  if (oh < 1 || ow < 1) {
    return `a ${kernel[0]}x${kernel[1]} window (dilation ${dilation}) does not fit input ${fmt(input)} with ${padding.toUpperCase()} padding`;
  }
  return [oh, ow];
}

export function inferShapes(graph: Graph, op: Op): ShapeResult {
  const shapeOf = (position: number) => graph.tensors[op.inputs[position]].shape;
  const ok = (...shapes: number[][]): ShapeResult => ({ shapes });
  const error = (message: string): ShapeResult => ({ error: message });
  const x = shapeOf(0);

  switch (op.kind) {
    case 'conv2d': {
      const w = shapeOf(1);
      if (w.length !== 4) return error(`filter must be 4-D OHWI, got ${fmt(w)}`);
      if (x.length === 4 && w[3] !== x[3]) return error(`filter ${fmt(w)} expects ${w[3]} input channels, input ${fmt(x)} has ${x[3]}`);
      const hw = spatial(x, [w[1], w[2]], op.attrs.stride, op.attrs.dilation, op.attrs.padding);
      if (typeof hw === 'string') return error(hw);
      if (op.inputs.length > 2 && numel(shapeOf(2)) !== w[0]) return error(`bias ${fmt(shapeOf(2))} must have ${w[0]} entries`);
      return ok([x[0], hw[0], hw[1], w[0]]);
    }
    case 'transpose_conv2d': {
      const w = shapeOf(1);
      if (w.length !== 4) return error(`filter must be 4-D OHWI, got ${fmt(w)}`);
      if (x.length !== 4 || w[3] !== x[3]) return error(`filter ${fmt(w)} expects a 4-D NHWC input of ${w[3]} channels, got ${fmt(x)}`);
      if ([...op.attrs.size, ...op.attrs.stride].some((v) => !Number.isInteger(v) || v < 1)) {
        return error(`output size ${op.attrs.size} and stride ${op.attrs.stride} must be positive integers`);
      }
      if (op.inputs.length > 2 && numel(shapeOf(2)) !== w[0]) return error(`bias ${fmt(shapeOf(2))} must have ${w[0]} entries`);
      return ok([x[0], op.attrs.size[0], op.attrs.size[1], w[0]]);
    }
    case 'depthwise_conv2d': {
      const w = shapeOf(1);
      const channels = x[3] * op.attrs.depthMultiplier;
      if (w.length !== 4 || w[0] !== 1) return error(`filter must be 4-D [1,H,W,C*M], got ${fmt(w)}`);
      if (x.length === 4 && w[3] !== channels) {
        return error(`filter ${fmt(w)} must have ${channels} channels (input channels ${x[3]} x depth multiplier ${op.attrs.depthMultiplier})`);
      }
      const hw = spatial(x, [w[1], w[2]], op.attrs.stride, op.attrs.dilation, op.attrs.padding);
      if (typeof hw === 'string') return error(hw);
      if (op.inputs.length > 2 && numel(shapeOf(2)) !== w[3]) return error(`bias ${fmt(shapeOf(2))} must have ${w[3]} entries`);
      return ok([x[0], hw[0], hw[1], w[3]]);
    }
    case 'fully_connected': {
      const w = shapeOf(1);
      if (w.length !== 2) return error(`weights must be 2-D [units, depth], got ${fmt(w)}`);
      const depth = w[1];
      if (x.length === 0 || numel(x) % depth !== 0) return error(`input ${fmt(x)} is not a whole number of rows of ${depth}`);
      if (op.inputs.length > 2 && numel(shapeOf(2)) !== w[0]) return error(`bias ${fmt(shapeOf(2))} must have ${w[0]} entries`);
      if (op.attrs.keepNumDims) {
        if (x[x.length - 1] !== depth) return error(`keep_num_dims needs the input's last axis (${fmt(x)}) to equal the weights' depth ${depth}`);
        return ok([...x.slice(0, -1), w[0]]);
      }
      return ok([numel(x) / depth, w[0]]);
    }
    case 'avg_pool2d':
    case 'max_pool2d': {
      const hw = spatial(x, op.attrs.filter, op.attrs.stride, [1, 1], op.attrs.padding);
      if (typeof hw === 'string') return error(hw);
      return ok([x[0], hw[0], hw[1], x[3]]);
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
    case 'maximum':
    case 'minimum':
    case 'prelu':
    case 'squared_difference': {
      const out = broadcastShapes(x, shapeOf(1));
      return out ? ok(out) : error(`shapes ${fmt(x)} and ${fmt(shapeOf(1))} do not broadcast`);
    }
    case 'batch_matmul': {
      const y = shapeOf(1);
      if ([x, y].some((s) => s.length < 2 || s.length > 5)) return error(`operands ${fmt(x)} and ${fmt(y)} must have 2 to 5 axes`);
      const batch = broadcastShapes(x.slice(0, -2), y.slice(0, -2));
      const [rows, depth] = op.attrs.adjX ? [x.at(-1)!, x.at(-2)!] : [x.at(-2)!, x.at(-1)!];
      const [rhsDepth, cols] = op.attrs.adjY ? [y.at(-1)!, y.at(-2)!] : [y.at(-2)!, y.at(-1)!];
      if (!batch || depth !== rhsDepth) return error(`${fmt(x)} (adj_x ${op.attrs.adjX}) and ${fmt(y)} (adj_y ${op.attrs.adjY}) do not multiply`);
      return ok([...batch, rows, cols]);
    }
    case 'reshape': {
      const out = resolveReshape(op.attrs.shape, numel(x));
      return out ? ok(out) : error(`cannot reshape ${fmt(x)} (${numel(x)} elements) to ${fmt(op.attrs.shape)}`);
    }
    case 'squeeze': {
      const axes = op.attrs.axes.map((a) => (a < 0 ? a + x.length : a));
      if (axes.some((a) => a < 0 || a >= x.length || x[a] !== 1)) return error(`cannot squeeze axes [${op.attrs.axes}] of ${fmt(x)}`);
      return ok(x.filter((d, i) => (axes.length === 0 ? d !== 1 : !axes.includes(i))));
    }
    case 'softmax':
    case 'log_softmax':
      if (x.length === 0) return error('softmax needs at least one axis');
      return ok([...x]);
    case 'logistic':
    case 'tanh':
    case 'relu':
    case 'relu6':
    case 'leaky_relu':
    case 'hard_swish':
    case 'rsqrt':
    case 'exp':
    case 'elu':
    case 'quantize':
    case 'dequantize':
      return ok([...x]);
    case 'pad': {
      const p = op.attrs.paddings;
      if (p.length !== x.length) return error(`${p.length} padding pairs for a ${x.length}-D input`);
      if (p.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
        return error(`paddings ${JSON.stringify(p)} must be non-negative integers`);
      }
      return ok(x.map((d, i) => d + p[i][0] + p[i][1]));
    }
    case 'concatenation': {
      const axis = op.attrs.axis;
      if (axis < 0 || axis >= x.length) return error(`axis ${axis} is outside a ${x.length}-D input`);
      const out = [...x];
      for (let i = 1; i < op.inputs.length; i++) {
        const s = shapeOf(i);
        if (s.length !== x.length || s.some((d, k) => k !== axis && d !== x[k])) {
          return error(`input ${i} ${fmt(s)} does not match input 0 ${fmt(x)} outside axis ${axis}`);
        }
        out[axis] += s[axis];
      }
      return ok(out);
    }
    case 'unidirectional_sequence_lstm': {
      if (x.length !== 3) return error(`input must be 3-D [batch, time, features], got ${fmt(x)}`);
      const units = shapeOf(2)[0] ?? 0;
      for (let i = 1; i <= 8; i++) {
        const expected = [units, i <= 4 ? x[2] : units];
        const w = shapeOf(i);
        if (w.length !== 2 || w[0] !== expected[0] || w[1] !== expected[1]) return error(`weights ${i} ${fmt(w)} must be ${fmt(expected)}`);
      }
      for (let i = 9; i <= 12; i++) if (shapeOf(i).length !== 1 || shapeOf(i)[0] !== units) return error(`bias ${i} ${fmt(shapeOf(i))} must be [${units}]`);
      return ok([x[0], x[1], units]);
    }
    case 'svdf': {
      const [feature, time] = [shapeOf(1), shapeOf(2)];
      const rank = op.attrs.rank;
      if (x.length !== 2 || feature.length !== 2 || feature[1] !== x[1]) return error(`input ${fmt(x)} and feature weights ${fmt(feature)} must be [batch, I] and [filters, I]`);
      if (!(rank >= 1) || feature[0] % rank !== 0) return error(`rank ${rank} does not divide the ${feature[0]} filters`);
      if (time.length !== 2 || time[0] !== feature[0]) return error(`time weights ${fmt(time)} must be [${feature[0]}, memory]`);
      const units = feature[0] / rank;
      if (op.inputs.length > 3 && (shapeOf(3).length !== 1 || shapeOf(3)[0] !== units)) return error(`bias ${fmt(shapeOf(3))} must be [${units}]`);
      return ok([x[0], units]);
    }
    case 'mean':
    case 'sum':
    case 'reduce_max': {
      const axes = op.attrs.axes;
      if (axes.some((a) => a < 0 || a >= x.length)) return error(`axes [${axes}] are outside a ${x.length}-D input`);
      return ok(op.attrs.keepDims ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i)));
    }
    case 'arg_max':
    case 'arg_min': {
      const { axis } = op.attrs;
      if (!Number.isInteger(axis) || axis < 0 || axis >= x.length) return error(`axis ${axis} is outside a ${x.length}-D input`);
      return ok(x.filter((_, i) => i !== axis));
    }
    case 'strided_slice': {
      const { begin, stride, size, shape } = op.attrs;
      if ([begin, stride, size].some((v) => v.length !== x.length)) return error(`begin, stride and size need ${x.length} entries each for input ${fmt(x)}`);
      for (let d = 0; d < x.length; d++) {
        const last = begin[d] + (size[d] - 1) * stride[d];
        const inside = (i: number) => Number.isInteger(i) && i >= 0 && i < x[d];
        if (!Number.isInteger(size[d]) || size[d] < 1 || stride[d] === 0 || !inside(begin[d]) || !inside(last)) {
          return error(`axis ${d}: ${size[d]} elements from ${begin[d]} in steps of ${stride[d]} do not lie inside ${x[d]}`);
        }
      }
      if (numel(shape) !== numel(size)) return error(`shape ${fmt(shape)} does not hold the ${numel(size)} elements of a ${fmt(size)} slice`);
      return ok([...shape]);
    }
    case 'transpose': {
      const { perm } = op.attrs;
      if (perm.length !== x.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) return error(`perm [${perm}] is not a permutation of ${x.length} axes`);
      return ok(perm.map((p) => x[p]));
    }
    case 'space_to_depth':
    case 'depth_to_space': {
      const b = op.attrs.blockSize;
      if (x.length !== 4 || !Number.isInteger(b) || b < 1) return error(`needs a 4-D NHWC input and a positive block size, got ${fmt(x)} and ${b}`);
      if (op.kind === 'space_to_depth') {
        if (x[1] % b !== 0 || x[2] % b !== 0) return error(`height and width of ${fmt(x)} must be multiples of the block size ${b}`);
        return ok([x[0], x[1] / b, x[2] / b, x[3] * b * b]);
      }
      if (x[3] % (b * b) !== 0) return error(`channels of ${fmt(x)} must be a multiple of block size squared (${b * b})`);
      return ok([x[0], x[1] * b, x[2] * b, x[3] / (b * b)]);
    }
    case 'resize_nearest':
    case 'resize_bilinear': {
      const [h, w] = op.attrs.size;
      if (x.length !== 4 || !(h >= 1 && w >= 1) || !Number.isInteger(h) || !Number.isInteger(w)) return error(`needs a 4-D NHWC input and a positive size, got ${fmt(x)} and [${op.attrs.size}]`);
      return ok([x[0], h, w, x[3]]);
    }
    case 'pack': {
      const { axis } = op.attrs;
      if (!Number.isInteger(axis) || axis < 0 || axis > x.length) return error(`axis ${axis} is outside a ${x.length + 1}-D output`);
      for (let i = 1; i < op.inputs.length; i++) {
        if (fmt(shapeOf(i)) !== fmt(x)) return error(`input ${i} ${fmt(shapeOf(i))} differs from input 0 ${fmt(x)}`);
      }
      return ok([...x.slice(0, axis), op.inputs.length, ...x.slice(axis)]);
    }
    case 'gather': {
      const { axis, indices, indicesShape } = op.attrs;
      if (!Number.isInteger(axis) || axis < 0 || axis >= x.length) return error(`axis ${axis} is outside a ${x.length}-D input`);
      if (indices.length !== numel(indicesShape)) return error(`${indices.length} indices for index shape ${fmt(indicesShape)}`);
      const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= x[axis]);
      if (bad !== undefined) return error(`index ${bad} is outside axis ${axis} of ${fmt(x)}`);
      return ok([...x.slice(0, axis), ...indicesShape, ...x.slice(axis + 1)]);
    }
  }
}
