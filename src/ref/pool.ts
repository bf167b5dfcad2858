// AVERAGE_POOL_2D and MAX_POOL_2D on the host, as TFLite Micro's reference kernels compute them:
// windows are clipped to the input (padding is neither read nor counted), int8 and int16 work on
// raw values, float32 sums in float32 in (ky, kx) order.

import { DTYPE_RANGE, allocate } from '../ir/dtype.ts';
import type { Graph, Pool2DOp } from '../ir/types.ts';
import { type PoolParams, lowerPool2D } from '../lower/pool.ts';
import { type Kernel, clampFloat } from './kernel.ts';
import { forEachWindow } from './window.ts';

const f32 = Math.fround;
const FLOAT32_LOWEST = -3.4028234663852886e38;

/** Reduces one window: its values in (ky, kx) order are values[0 .. count). */
type Reducer = (values: Float64Array, count: number) => number;

type PoolData = Int8Array | Int16Array | Float32Array;

function pool<T extends PoolData>(p: PoolParams, input: T, out: T, reduce: Reducer): T {
  const { inHeight, inWidth, inChannels: channels } = p;
  const values = new Float64Array(p.filterHeight * p.filterWidth);
  forEachWindow(p, (w) => {
    for (let c = 0; c < channels; c++) {
      let count = 0;
      for (let ky = w.kyStart; ky < w.kyEnd; ky++) {
        const row = (w.batch * inHeight + w.inY + ky) * inWidth + w.inX;
        for (let kx = w.kxStart; kx < w.kxEnd; kx++) values[count++] = input[(row + kx) * channels + c];
      }
      out[w.pixel * channels + c] = reduce(values, count);
    }
  });
  return out;
}

/** The integer average rounds half away from zero with C's truncating division. */
const averageInteger = (min: number, max: number): Reducer => (values, count) => {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += values[i];
  const half = Math.floor(count / 2);
  const avg = Math.trunc((sum > 0 ? sum + half : sum - half) / count);
  return avg < min ? min : avg > max ? max : avg;
};

const averageFloat = (min: number, max: number): Reducer => (values, count) => {
  let total = 0;
  for (let i = 0; i < count; i++) total = f32(total + values[i]);
  return clampFloat(f32(total / count), min, max);
};

/** Max starting from the type's lowest value; a NaN input never wins, as with std::max. */
const maximum = (lowest: number, clamp: (v: number) => number): Reducer => (values, count) => {
  let m = lowest;
  for (let i = 0; i < count; i++) if (m < values[i]) m = values[i];
  return clamp(m);
};


export function pool2d<T extends PoolData>(kind: Pool2DOp['kind'], p: PoolParams, input: T): T {
  const { actMin, actMax } = p;
  const size = p.batches * p.outHeight * p.outWidth * p.outChannels;
  const integer = p.dtype !== 'float32';
  const out = allocate(p.dtype, size) as T;
  if (kind === 'avg_pool2d') return pool(p, input, out, integer ? averageInteger(actMin, actMax) : averageFloat(actMin, actMax));
  const clamp = integer ? (v: number) => (v < actMin ? actMin : v > actMax ? actMax : v) : (v: number) => clampFloat(v, actMin, actMax);
  return pool(p, input, out, maximum(integer ? DTYPE_RANGE[p.dtype]![0] : FLOAT32_LOWEST, clamp));
}

export function preparePool2D(graph: Graph, op: Pool2DOp): Kernel {
  const p = lowerPool2D(graph, op);
  return ([x]) => pool2d(op.kind, p, x as PoolData);
}
