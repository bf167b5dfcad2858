// Serialises a TfliteModel (./model.ts) to a .tflite flatbuffer that TFLite and TFLite Micro load.
// Flatbuffers are built back to front, so every vector, string and sub-table is created before the
// table that refers to it.

import { Builder } from 'flatbuffers';
import { modelError } from '../ir/errors.ts';
import type {
  BuiltinOptions,
  TfliteBuffer,
  TfliteModel,
  TfliteOperator,
  TfliteOperatorCode,
  TfliteQuantization,
  TfliteSubgraph,
  TfliteTensor,
} from './model.ts';
import { optionTable, type OptionTable } from './options.ts';
import {
  BUFFER_DATA_ALIGNMENT,
  BufferField,
  BuiltinOperator,
  FILE_IDENTIFIER,
  MetadataField,
  ModelField,
  OperatorCodeField,
  OperatorField,
  QuantizationField,
  SubGraphField,
  TensorField,
} from './schema.ts';

type Offset = number;

export function writeTflite(model: TfliteModel): Uint8Array {
  if (model.buffers.length === 0 || model.buffers[0].data.length !== 0) {
    throw modelError('cannot write the model: buffer 0 must exist and be empty (the sentinel tensors without data refer to)');
  }
  const dataBytes = model.buffers.reduce((sum, b) => sum + b.data.length + BUFFER_DATA_ALIGNMENT, 0);
  const b = new Builder(dataBytes + 65536);

  const buffers = model.buffers.map((buffer) => writeBuffer(b, buffer));
  const metadata = model.metadata.map((m) => {
    const name = b.createString(m.name);
    b.startObject(2);
    b.addFieldOffset(MetadataField.name, name, 0);
    b.addFieldInt32(MetadataField.buffer, m.buffer, 0);
    return b.endObject();
  });
  const subgraphs = model.subgraphs.map((s, i) => writeSubgraph(b, s, i));
  const operatorCodes = model.operatorCodes.map((c) => writeOperatorCode(b, c));
  const description = model.description === undefined ? 0 : b.createString(model.description);

  const fields = {
    operatorCodes: offsets(b, operatorCodes),
    subgraphs: offsets(b, subgraphs),
    buffers: offsets(b, buffers),
    metadata: metadata.length > 0 ? offsets(b, metadata) : 0,
  };
  b.startObject(ModelField.metadata + 1);
  b.addFieldInt32(ModelField.version, model.version, 0);
  b.addFieldOffset(ModelField.operatorCodes, fields.operatorCodes, 0);
  b.addFieldOffset(ModelField.subgraphs, fields.subgraphs, 0);
  b.addFieldOffset(ModelField.description, description, 0);
  b.addFieldOffset(ModelField.buffers, fields.buffers, 0);
  b.addFieldOffset(ModelField.metadata, fields.metadata, 0);
  b.finish(b.endObject(), FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

function writeBuffer(b: Builder, buffer: TfliteBuffer): Offset {
  // An empty data vector is not the same as none: TFLite rejects a constant whose data is empty,
  // so buffers without data get no vector at all.
  let data = 0;
  if (buffer.data.length > 0) {
    b.prep(BUFFER_DATA_ALIGNMENT, buffer.data.length);
    data = b.createByteVector(buffer.data);
  }
  b.startObject(BufferField.data + 1);
  b.addFieldOffset(BufferField.data, data, 0);
  return b.endObject();
}

function writeOperatorCode(b: Builder, code: TfliteOperatorCode): Offset {
  const custom = code.customCode === undefined ? 0 : b.createString(code.customCode);
  b.startObject(OperatorCodeField.builtinCode + 1);
  // Readers older than the 32-bit field only see the byte, which saturates at the placeholder.
  b.addFieldInt8(OperatorCodeField.deprecatedBuiltinCode, Math.min(code.builtinCode, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
  b.addFieldOffset(OperatorCodeField.customCode, custom, 0);
  b.addFieldInt32(OperatorCodeField.version, code.version, 1);
  b.addFieldInt32(OperatorCodeField.builtinCode, code.builtinCode, 0);
  return b.endObject();
}

function writeSubgraph(b: Builder, subgraph: TfliteSubgraph, index: number): Offset {
  const tensors = offsets(b, subgraph.tensors.map((t) => writeTensor(b, t)));
  const operators = offsets(
    b,
    subgraph.operators.map((op, i) => writeOperator(b, op, index === 0 ? `operator ${i}` : `subgraph ${index} operator ${i}`)),
  );
  const inputs = int32s(b, subgraph.inputs);
  const outputs = int32s(b, subgraph.outputs);
  const name = subgraph.name === undefined ? 0 : b.createString(subgraph.name);
  b.startObject(SubGraphField.name + 1);
  b.addFieldOffset(SubGraphField.tensors, tensors, 0);
  b.addFieldOffset(SubGraphField.inputs, inputs, 0);
  b.addFieldOffset(SubGraphField.outputs, outputs, 0);
  b.addFieldOffset(SubGraphField.operators, operators, 0);
  b.addFieldOffset(SubGraphField.name, name, 0);
  return b.endObject();
}

function writeTensor(b: Builder, tensor: TfliteTensor): Offset {
  const shape = int32s(b, tensor.shape);
  const signature = tensor.shapeSignature ? int32s(b, tensor.shapeSignature) : 0;
  const name = tensor.name ? b.createString(tensor.name) : 0;
  const quantization = tensor.quantization ? writeQuantization(b, tensor.quantization) : 0;
  b.startObject(TensorField.shapeSignature + 1);
  b.addFieldOffset(TensorField.shape, shape, 0);
  b.addFieldInt8(TensorField.type, tensor.type, 0);
  b.addFieldInt32(TensorField.buffer, tensor.buffer, 0);
  b.addFieldOffset(TensorField.name, name, 0);
  b.addFieldOffset(TensorField.quantization, quantization, 0);
  b.addFieldInt8(TensorField.isVariable, Number(tensor.isVariable), 0);
  b.addFieldOffset(TensorField.shapeSignature, signature, 0);
  return b.endObject();
}

function writeQuantization(b: Builder, q: TfliteQuantization): Offset {
  const min = q.min ? float32s(b, q.min) : 0;
  const max = q.max ? float32s(b, q.max) : 0;
  const scale = q.scale.length > 0 ? float32s(b, q.scale) : 0;
  let zeroPoint = 0;
  if (q.zeroPoint.length > 0) {
    b.startVector(8, q.zeroPoint.length, 8);
    for (let i = q.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(q.zeroPoint[i]));
    zeroPoint = b.endVector();
  }
  b.startObject(QuantizationField.quantizedDimension + 1);
  b.addFieldOffset(QuantizationField.min, min, 0);
  b.addFieldOffset(QuantizationField.max, max, 0);
  b.addFieldOffset(QuantizationField.scale, scale, 0);
  b.addFieldOffset(QuantizationField.zeroPoint, zeroPoint, 0);
  b.addFieldInt32(QuantizationField.quantizedDimension, q.quantizedDimension, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperator, where: string): Offset {
  const inputs = int32s(b, op.inputs);
  const outputs = int32s(b, op.outputs);
  const spec = optionTable(op.builtinOptionsType);
  if (op.builtinOptionsType !== 0 && !spec) {
    // Writing only the type would silently reset the operator's options to their defaults.
    throw modelError(`cannot write the model: ${where} has builtin options of type ${op.builtinOptionsType}, which edgec cannot encode`);
  }
  const options = spec && op.builtinOptions ? writeOptions(b, spec, op.builtinOptions) : 0;
  b.startObject(OperatorField.builtinOptions + 1);
  b.addFieldInt32(OperatorField.opcodeIndex, op.opcodeIndex, 0);
  b.addFieldOffset(OperatorField.inputs, inputs, 0);
  b.addFieldOffset(OperatorField.outputs, outputs, 0);
  b.addFieldInt8(OperatorField.builtinOptionsType, op.builtinOptionsType, 0);
  b.addFieldOffset(OperatorField.builtinOptions, options, 0);
  return b.endObject();
}

function writeOptions(b: Builder, spec: OptionTable<BuiltinOptions>, options: BuiltinOptions): Offset {
  const fields = Object.entries(spec);
  const values = options as Record<string, number | boolean | number[] | undefined>;
  // Vectors first: nothing may be created while a table is open.
  const vectors = new Map<string, Offset>();
  for (const [key, f] of fields) {
    const value = values[key];
    if (f.kind === 'int32[]' && Array.isArray(value)) vectors.set(key, int32s(b, value));
  }
  b.startObject(fields.reduce((n, [, f]) => Math.max(n, f.field + 1), 0));
  for (const [key, f] of fields) {
    const value = values[key];
    switch (f.kind) {
      case 'int8':
        b.addFieldInt8(f.field, Number(value ?? f.default), f.default);
        break;
      case 'int32':
        b.addFieldInt32(f.field, Number(value ?? f.default), f.default);
        break;
      case 'float32':
        b.addFieldFloat32(f.field, Number(value ?? f.default), f.default);
        break;
      case 'bool':
        b.addFieldInt8(f.field, Number(value ?? f.default), Number(f.default));
        break;
      case 'int32[]':
        b.addFieldOffset(f.field, vectors.get(key) ?? 0, 0);
        break;
    }
  }
  return b.endObject();
}

function offsets(b: Builder, items: Offset[]): Offset {
  b.startVector(4, items.length, 4);
  for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]);
  return b.endVector();
}

function int32s(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function float32s(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}
