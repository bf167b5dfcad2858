// Access to an op's tensors for lowering, with the checks TFLite Micro's Prepare functions make
// turned into model errors that name the op and the tensor.

import { DTYPE_RANGE } from '../ir/dtype.ts';
import { modelError } from '../ir/errors.ts';
import type { DType, Graph, Op, Tensor } from '../ir/types.ts';
import { describeOp } from '../ir/verify.ts';
import type { Requantize } from './elementwise.ts';
import { quantizeMultiplier } from './fixedpoint.ts';

/** Per-tensor affine quantization with the scale rounded to the float32 TFLite stores. */
export interface Affine {
  scale: number;
  zeroPoint: number;
}

/** One op's view of the graph: its tensors by role, and errors that say which op and tensor is wrong. */
export class OpOperands {
  readonly where: string;

  constructor(
    readonly graph: Graph,
    readonly op: Op,
  ) {
    this.where = describeOp(op, graph.ops.indexOf(op));
  }

  fail(message: string): never {
    throw modelError(`${this.where}: ${message}`);
  }

  input(position: number): Tensor {
    const tensor = this.graph.tensors[this.op.inputs[position]];
    if (!tensor) this.fail(`input ${position} refers to tensor ${this.op.inputs[position]}, which does not exist`);
    return tensor;
  }

  /** The optional input at `position` (a bias), or undefined when the op has fewer inputs. */
  optionalInput(position: number): Tensor | undefined {
    return position < this.op.inputs.length ? this.input(position) : undefined;
  }

  output(): Tensor {
    const tensor = this.graph.tensors[this.op.outputs[0]];
    if (!tensor) this.fail(`output refers to tensor ${this.op.outputs[0]}, which does not exist`);
    return tensor;
  }

  describe(tensor: Tensor): string {
    return `${tensor === this.output() ? 'output' : 'input'} '${tensor.name}'`;
  }

  expectDtype(tensor: Tensor, ...dtypes: DType[]): void {
    if (!dtypes.includes(tensor.dtype)) {
      this.fail(`${this.describe(tensor)} is ${tensor.dtype}, expected ${dtypes.join(' or ')}`);
    }
  }

  /** The tensor's single scale and zero point; its dtype must be an integer type. */
  affine(tensor: Tensor): Affine {
    const q = tensor.quant;
    if (!q || q.scale.length === 0) this.fail(`${this.describe(tensor)} is ${tensor.dtype} but has no quantization parameters`);
    if (q.scale.length !== 1) this.fail(`${this.describe(tensor)} is quantized per channel (${q.scale.length} scales); one scale is needed`);
    return { scale: this.checkedScale(tensor, q.scale[0]), zeroPoint: this.checkedZeroPoint(tensor, q.zeroPoint[0]) };
  }

  /**
   * Weight scales, one per output channel along `axis` (a single per-tensor scale is repeated,
   * as TFLite does). Weights must be symmetric: TFLite Micro's int8 kernels ignore the weight
   * zero point, so a non-zero one would silently give wrong results.
   */
  weightScales(tensor: Tensor, axis: number, channels: number): number[] {
    const q = tensor.quant;
    if (!q || q.scale.length === 0) this.fail(`${this.describe(tensor)} is ${tensor.dtype} but has no quantization parameters`);
    if (q.scale.length !== 1 && (q.scale.length !== channels || q.axis !== axis)) {
      this.fail(
        `${this.describe(tensor)} has ${q.scale.length} scales along axis ${q.axis}; expected 1 or ${channels} along axis ${axis}`,
      );
    }
    if (q.zeroPoint.some((z) => z !== 0)) this.fail(`${this.describe(tensor)} must be symmetric (zero point 0), got [${q.zeroPoint}]`);
    const scales = q.scale.map((s) => this.checkedScale(tensor, s));
    return scales.length === 1 ? new Array<number>(channels).fill(scales[0]) : scales;
  }

  /**
   * quantizeMultiplier(real), limited to the shifts MultiplyByQuantizedMultiplier can apply
   * without shifting an int32 by 31 or more (undefined behaviour in C).
   */
  multiplier(real: number, what: string): Requantize {
    const m = quantizeMultiplier(real);
    if (m.shift > 30) this.fail(`the ${what} ${real.toPrecision(6)} is too large to requantize (must be below 2^30); check the quantization scales`);
    return m;
  }

  private checkedScale(tensor: Tensor, scale: number): number {
    const s = Math.fround(scale);
    if (!(s > 0) || !Number.isFinite(s)) this.fail(`${this.describe(tensor)} has scale ${scale}, which is not a positive float32`);
    return s;
  }

  private checkedZeroPoint(tensor: Tensor, zeroPoint: number): number {
    const range = DTYPE_RANGE[tensor.dtype];
    if (!range) this.fail(`${this.describe(tensor)} is ${tensor.dtype}, which cannot be quantized`);
    if (!Number.isInteger(zeroPoint) || zeroPoint < range[0] || zeroPoint > range[1]) {
      this.fail(`${this.describe(tensor)} has zero point ${zeroPoint}, outside the ${tensor.dtype} range`);
    }
    return zeroPoint;
  }
}
