// Index walks (runtime-c's ec_walk): a row-major loop nest in which each loop moves two operands
// by fixed element strides. Shapes are known at compile time, so loops that step as one are
// merged here and the device runs the shortest nest that visits the same elements in the same order.

import { modelError } from '../../ir/errors.ts';
import { cInt } from '../c-syntax.ts';
import type { CFields } from './c-struct.ts';

/** The deepest walk the runtime's ec_walk holds (EC_WALK_MAX_DIMS). */
export const WALK_MAX_DIMS = 6;

/** One loop: its trip count and how many elements operands a and b move per step. */
export interface WalkDim {
  size: number;
  a: number;
  b: number;
}

/** Row-major element strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

/** Strides that read `shape` broadcast (numpy rules) to `outShape`: 0 along every broadcast axis. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]));
}

/**
 * Drops loops of one step (they move nothing) and merges each loop into the one outside it when
 * both operands' strides continue across the boundary. The innermost loop is always kept, so a
 * kernel that copies whole rows can rely on its strides.
 */
export function mergeDims(dims: readonly WalkDim[]): WalkDim[] {
  const innermost = dims.length > 0 ? dims[dims.length - 1] : { size: 1, a: 0, b: 0 };
  const merged: WalkDim[] = [];
  for (const d of [...dims.slice(0, -1).filter((x) => x.size !== 1), innermost]) {
    const outer = merged[merged.length - 1];
    if (outer && outer.a === d.a * d.size && outer.b === d.b * d.size) {
      merged[merged.length - 1] = { size: outer.size * d.size, a: d.a, b: d.b };
    } else {
      merged.push({ ...d });
    }
  }
  return merged;
}

/** The initialiser of an ec_walk over `dims` after merging. */
export function walkFields(dims: readonly WalkDim[], where: string): CFields {
  const loops = mergeDims(dims);
  if (loops.length > WALK_MAX_DIMS) {
    throw modelError(`${where}: needs a ${loops.length}-deep loop nest; the kernels handle at most ${WALK_MAX_DIMS} dimensions`);
  }
  return {
    rank: cInt(loops.length),
    dims: loops.map((d) => cInt(d.size)),
    stride_a: loops.map((d) => cInt(d.a)),
    stride_b: loops.map((d) => cInt(d.b)),
  };
}
