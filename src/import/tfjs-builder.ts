// Builds a Graph op by op, inferring every output shape from the op's inputs, so a front end only
// says what each layer computes.

import { type EdgecError, modelError } from '../ir/errors.ts';
import { inferShapes } from '../ir/shape.ts';
import type { Graph, Op, Tensor } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';

export type ActivationKind = 'relu' | 'relu6' | 'logistic' | 'tanh' | 'softmax' | 'elu';

/** The error for a model that cannot be imported: the first problem in the message, all of them in the details. */
export function importFailure(fileName: string, problems: string[]): EdgecError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return modelError(`${fileName}: cannot import the model: ${problems[0]}${more}`, problems);
}

/** An op before its output tensor exists. */
export type OpSpec = Op extends infer O ? (O extends Op ? Omit<O, 'outputs'> : never) : never;

export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];

  constructor(readonly name: string) {}

  /** An activation tensor with no producer yet (a graph input). */
  activation(name: string, shape: number[]): number {
    this.tensors.push({ name, shape, dtype: 'float32' });
    return this.tensors.length - 1;
  }

  constant(name: string, shape: number[], data: Float32Array): number {
    this.tensors.push({ name, shape, dtype: 'float32', data });
    return this.tensors.length - 1;
  }

  shape(tensor: number): number[] {
    return this.tensors[tensor].shape;
  }

  /** Adds `spec` writing a new tensor called `name`; a shape the op cannot compute is an error naming `spec.origin`. */
  op(spec: OpSpec, name: string): number {
    const view: Graph = { name: this.name, tensors: this.tensors, ops: this.ops, inputs: [], outputs: [] };
    const inferred = inferShapes(view, { ...spec, outputs: [] } as Op);
    if ('error' in inferred) throw modelError(`${spec.origin ?? name}: ${inferred.error}`);
    const output = this.activation(name, inferred.shapes[0]);
    this.ops.push({ ...spec, outputs: [output] } as Op);
    return output;
  }

  /** An element-wise activation op (softmax over the last axis). */
  activate(kind: ActivationKind, x: number, name: string, origin: string): number {
    if (kind === 'softmax') return this.op({ kind, inputs: [x], attrs: { beta: 1 }, origin }, name);
    return this.op({ kind, inputs: [x], attrs: {}, origin }, name);
  }

  /** A reshape to the same shape: what a model's identity or dropout computes at inference; the passes drop it. */
  identity(x: number, name: string, origin: string): number {
    return this.op({ kind: 'reshape', inputs: [x], attrs: { shape: [...this.shape(x)] }, origin }, name);
  }

  /** x * scale + offset per channel (last axis): inference batch normalization, which the passes fold into the layer before. */
  scaleAndShift(x: number, scale: Float32Array, offset: Float32Array, name: string, origin: string): number {
    const scaled = this.op({ kind: 'mul', inputs: [x, this.constant(`${name}/scale`, [scale.length], scale)], attrs: { activation: 'none' }, origin }, `${name}/scaled`);
    return this.op({ kind: 'add', inputs: [scaled, this.constant(`${name}/offset`, [offset.length], offset)], attrs: { activation: 'none' }, origin }, name);
  }

  finish(inputs: number[], outputs: number[]): Graph {
    const graph: Graph = { name: this.name, tensors: this.tensors, ops: this.ops, inputs, outputs };
    verifyGraph(graph);
    return graph;
  }
}
