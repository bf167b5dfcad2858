// Building small TFLite models in tests, through the real writer.

import { readFileSync } from 'node:fs';
import { dataBytes } from '../../src/ir/dtype.ts';
import type { TensorData } from '../../src/ir/types.ts';
import type { BuiltinOptionsMap, TfliteModel, TfliteOperator, TfliteTensor } from '../../src/tflite/model.ts';
import { TensorType } from '../../src/tflite/schema.ts';
import { writeTflite } from '../../src/tflite/writer.ts';

export const ORACLES = ['hello_world_int8', 'hello_world_float', 'micro_speech', 'person_detect'] as const;

export function oracleModel(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../../shared/oracles/${name}/model.tflite`, import.meta.url)));
}

const TYPES = {
  float32: TensorType.FLOAT32,
  int8: TensorType.INT8,
  uint8: TensorType.UINT8,
  int16: TensorType.INT16,
  int32: TensorType.INT32,
  int64: TensorType.INT64,
  float16: TensorType.FLOAT16,
} as const;

export interface TensorSpec {
  data?: TensorData;
  scale?: number[];
  zeroPoint?: number[];
  axis?: number;
}

/** Collects tensors, buffers and operators of one subgraph; `build` gives the model. */
export class ModelBuilder {
  readonly model: TfliteModel = {
    version: 3,
    operatorCodes: [],
    subgraphs: [{ tensors: [], inputs: [], outputs: [], operators: [] }],
    buffers: [{ data: new Uint8Array(0) }],
    metadata: [],
  };

  private get subgraph() {
    return this.model.subgraphs[0];
  }

  tensor(name: string, shape: number[], type: keyof typeof TYPES, spec: TensorSpec = {}): number {
    let buffer = 0;
    if (spec.data) {
      this.model.buffers.push({ data: dataBytes(spec.data).slice() });
      buffer = this.model.buffers.length - 1;
    }
    const tensor: TfliteTensor = { name, shape, type: TYPES[type], buffer, isVariable: false };
    if (spec.scale) {
      tensor.quantization = {
        scale: spec.scale,
        zeroPoint: spec.zeroPoint ?? spec.scale.map(() => 0),
        quantizedDimension: spec.axis ?? 0,
      };
    }
    this.subgraph.tensors.push(tensor);
    return this.subgraph.tensors.length - 1;
  }

  /** An int8 activation tensor with per-tensor parameters. */
  act(name: string, shape: number[], zeroPoint = 0): number {
    return this.tensor(name, shape, 'int8', { scale: [0.05], zeroPoint: [zeroPoint] });
  }

  op<K extends keyof BuiltinOptionsMap>(
    code: number,
    inputs: number[],
    outputs: number[],
    options?: { type: K; value: BuiltinOptionsMap[K] },
    customCode?: string,
  ): void {
    let opcodeIndex = this.model.operatorCodes.findIndex((c) => c.builtinCode === code && c.customCode === customCode);
    if (opcodeIndex < 0) {
      this.model.operatorCodes.push({ builtinCode: code, ...(customCode !== undefined && { customCode }), version: 1 });
      opcodeIndex = this.model.operatorCodes.length - 1;
    }
    const op: TfliteOperator = { opcodeIndex, inputs, outputs, builtinOptionsType: options?.type ?? 0 };
    if (options) op.builtinOptions = options.value;
    this.subgraph.operators.push(op);
  }

  build(inputs: number[], outputs: number[]): TfliteModel {
    this.subgraph.inputs = inputs;
    this.subgraph.outputs = outputs;
    return this.model;
  }

  bytes(inputs: number[], outputs: number[]): Uint8Array {
    return writeTflite(this.build(inputs, outputs));
  }
}
