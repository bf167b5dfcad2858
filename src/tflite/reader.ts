// Reads a .tflite file into plain objects (./model.ts), validating everything a later stage would
// otherwise trust: structure, indices, shapes and the size of every constant's data.

import { FlatBuffer, type Table } from './flat.ts';
import type {
  BuiltinOptions,
  TfliteBuffer,
  TfliteMetadata,
  TfliteModel,
  TfliteOperator,
  TfliteOperatorCode,
  TfliteQuantization,
  TfliteSubgraph,
  TfliteTensor,
} from './model.ts';
import { optionTable } from './options.ts';
import {
  BufferField,
  FILE_IDENTIFIER,
  MetadataField,
  ModelField,
  OperatorCodeField,
  OperatorField,
  QuantizationField,
  SCHEMA_VERSION,
  SubGraphField,
  TENSOR_TYPE_BYTES,
  TensorField,
  tensorTypeName,
} from './schema.ts';

/** More dimensions than any real model uses; beyond this a shape is taken as corruption. */
export const MAX_RANK = 16;
/** Element count limit of one tensor (TFLite counts elements in a C int). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * Parses and validates a TFLite flatbuffer. Buffer data in the result are views into `bytes`.
 * Throws a model error naming `fileName` and the offending place for any malformed content.
 */
export function readTflite(bytes: Uint8Array, fileName = 'model.tflite'): TfliteModel {
  const fb = new FlatBuffer(bytes, fileName);
  if (bytes.length < 8) fb.fail('file', `${bytes.length} bytes is too short to be a TFLite model`);
  const id = fb.identifier();
  if (id !== FILE_IDENTIFIER) {
    fb.fail('file', `not a TFLite model (file identifier ${JSON.stringify(id)}, expected "${FILE_IDENTIFIER}")`);
  }
  const root = fb.root('model');
  const version = root.uint32(ModelField.version);
  if (version !== SCHEMA_VERSION) fb.fail('model', `schema version ${version} is not supported (expected ${SCHEMA_VERSION})`);

  const operatorCodes = (root.tables(ModelField.operatorCodes, 'operator codes', (i) => `operator code ${i}`) ?? []).map(
    readOperatorCode,
  );
  const buffers = (root.tables(ModelField.buffers, 'buffers', (i) => `buffer ${i}`) ?? []).map((t) => readBuffer(fb, t));
  if (buffers.length === 0) buffers.push({ data: new Uint8Array(0) });
  if (buffers[0].data.length !== 0) fb.fail('buffer 0', `holds ${buffers[0].data.length} bytes but must be the empty sentinel`);

  const subgraphTables = root.tables(ModelField.subgraphs, 'subgraphs', (i) => `subgraph ${i}`) ?? [];
  if (subgraphTables.length === 0) fb.fail('model', 'has no subgraphs');
  const subgraphs = subgraphTables.map((t, i) => readSubgraph(fb, t, i === 0 ? '' : `subgraph ${i} `, buffers, operatorCodes.length));

  const metadata = (root.tables(ModelField.metadata, 'metadata', (i) => `metadata ${i}`) ?? []).map((t) =>
    readMetadata(fb, t, buffers.length),
  );
  const description = root.string(ModelField.description, 'description');
  return { version, ...(description !== undefined && { description }), operatorCodes, subgraphs, buffers, metadata };
}

function readOperatorCode(t: Table): TfliteOperatorCode {
  const builtinCode = Math.max(t.int8(OperatorCodeField.deprecatedBuiltinCode), t.int32(OperatorCodeField.builtinCode));
  const customCode = t.string(OperatorCodeField.customCode, 'custom code');
  return { builtinCode, ...(customCode !== undefined && { customCode }), version: t.int32(OperatorCodeField.version, 1) };
}

function readBuffer(fb: FlatBuffer, t: Table): TfliteBuffer {
  // Models over 2 GB keep data after the flatbuffer: offset (from the file start) > 1 says so.
  const offset = t.uint64(BufferField.offset);
  if (offset > 1) {
    const size = t.uint64(BufferField.size);
    fb.need(offset, size, t.where, 'external data');
    return { data: fb.bytes.subarray(offset, offset + size) };
  }
  return { data: t.bytes(BufferField.data, 'data') ?? new Uint8Array(0) };
}

function readMetadata(fb: FlatBuffer, t: Table, bufferCount: number): TfliteMetadata {
  const buffer = t.uint32(MetadataField.buffer);
  if (buffer >= bufferCount) fb.fail(t.where, `buffer ${buffer} does not exist (the model has ${bufferCount})`);
  return { name: t.string(MetadataField.name, 'name') ?? '', buffer };
}

function readSubgraph(fb: FlatBuffer, t: Table, prefix: string, buffers: TfliteBuffer[], opcodeCount: number): TfliteSubgraph {
  const tensorTables = t.tables(SubGraphField.tensors, 'tensors', (i) => `${prefix}tensor ${i}`) ?? [];
  const tensors = tensorTables.map((tt) => readTensor(fb, tt, buffers));
  const checkIndices = (list: number[], where: string, allowOmitted: boolean) => {
    for (const index of list) {
      if (!((index >= 0 || (allowOmitted && index === -1)) && index < tensors.length)) {
        fb.fail(where, `refers to tensor ${index}, but the subgraph has ${tensors.length} tensors`);
      }
    }
    return list;
  };
  const inputs = checkIndices(t.int32s(SubGraphField.inputs, 'inputs') ?? [], `${prefix}inputs`, false);
  const outputs = checkIndices(t.int32s(SubGraphField.outputs, 'outputs') ?? [], `${prefix}outputs`, false);
  const operatorTables = t.tables(SubGraphField.operators, 'operators', (i) => `${prefix}operator ${i}`) ?? [];
  const operators = operatorTables.map((ot) => {
    const op = readOperator(fb, ot, opcodeCount);
    checkIndices(op.inputs, `${ot.where} inputs`, true);
    checkIndices(op.outputs, `${ot.where} outputs`, false);
    return op;
  });
  const name = t.string(SubGraphField.name, 'name');
  return { ...(name !== undefined && { name }), tensors, inputs, outputs, operators };
}

function readTensor(fb: FlatBuffer, table: Table, buffers: TfliteBuffer[]): TfliteTensor {
  const name = table.string(TensorField.name, 'name') ?? '';
  const t = name ? table.describedAs(`${table.where} '${name}'`) : table;
  const where = t.where;
  if (t.has(TensorField.sparsity)) fb.fail(where, 'sparse tensors are not supported');
  if (t.uint32(TensorField.externalBuffer) !== 0) fb.fail(where, 'data in an external file is not supported');

  const shape = t.int32s(TensorField.shape, 'shape', MAX_RANK) ?? [];
  if (shape.some((d) => d < 0)) fb.fail(where, `shape ${fmt(shape)} has a negative dimension`);
  const elements = elementCount(shape);
  if (elements === undefined) fb.fail(where, `shape ${fmt(shape)} has more than ${MAX_ELEMENTS} elements`);
  const shapeSignature = t.int32s(TensorField.shapeSignature, 'shape signature', MAX_RANK);
  if (shapeSignature && (shapeSignature.length !== shape.length || shapeSignature.some((d) => d < -1))) {
    fb.fail(where, `shape signature ${fmt(shapeSignature)} does not fit shape ${fmt(shape)}`);
  }

  const type = t.int8(TensorField.type);
  const buffer = t.uint32(TensorField.buffer);
  if (buffer >= buffers.length) fb.fail(where, `buffer ${buffer} does not exist (the model has ${buffers.length})`);
  const size = buffers[buffer].data.length;
  const elementBytes = TENSOR_TYPE_BYTES[type];
  if (size !== 0 && elementBytes !== undefined && size !== elements * elementBytes) {
    const typeName = tensorTypeName(type).toLowerCase();
    fb.fail(where, `buffer ${buffer} has ${size} bytes, shape ${fmt(shape)} ${typeName} needs ${elements * elementBytes}`);
  }

  const quantTable = t.table(TensorField.quantization, `${where} quantization`);
  const quantization = quantTable && readQuantization(fb, quantTable);
  return {
    name,
    shape,
    ...(shapeSignature && { shapeSignature }),
    type,
    buffer,
    ...(quantization && { quantization }),
    isVariable: t.bool(TensorField.isVariable),
  };
}

/** Product of the dimensions, or undefined beyond MAX_ELEMENTS. */
function elementCount(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > MAX_ELEMENTS) return undefined;
  }
  return n;
}

// Undefined when the table carries no parameters at all (converters emit empty ones for float
// tensors). Whether the parameters fit the tensor is the importer's question: converters emit bias tensors
// carrying their filter's quantized dimension, which TFLite accepts.
function readQuantization(fb: FlatBuffer, t: Table): TfliteQuantization | undefined {
  const detailsType = t.uint8(QuantizationField.detailsType);
  if (detailsType !== 0) fb.fail(t.where, `custom quantization (details type ${detailsType}) is not supported`);
  const scale = t.float32s(QuantizationField.scale, 'scale') ?? [];
  const zeroPoint = t.int64s(QuantizationField.zeroPoint, 'zero point') ?? [];
  const min = t.float32s(QuantizationField.min, 'min');
  const max = t.float32s(QuantizationField.max, 'max');
  const quantizedDimension = t.int32(QuantizationField.quantizedDimension);
  if (scale.length === 0 && zeroPoint.length === 0 && !min && !max) return undefined;

  return { scale, zeroPoint, quantizedDimension, ...(min && { min }), ...(max && { max }) };
}

function readOperator(fb: FlatBuffer, t: Table, opcodeCount: number): TfliteOperator {
  const opcodeIndex = t.uint32(OperatorField.opcodeIndex);
  if (opcodeIndex >= opcodeCount) fb.fail(t.where, `operator code ${opcodeIndex} does not exist (the model has ${opcodeCount})`);
  const inputs = t.int32s(OperatorField.inputs, 'inputs') ?? [];
  const outputs = t.int32s(OperatorField.outputs, 'outputs') ?? [];
  const builtinOptionsType = t.uint8(OperatorField.builtinOptionsType);
  const spec = optionTable(builtinOptionsType);
  const table = spec && t.table(OperatorField.builtinOptions, `${t.where} options`);
  const builtinOptions = table && readOptions(table, spec);
  return { opcodeIndex, inputs, outputs, builtinOptionsType, ...(builtinOptions && { builtinOptions }) };
}

function readOptions(t: Table, spec: NonNullable<ReturnType<typeof optionTable>>): BuiltinOptions {
  const out: Record<string, number | boolean | number[]> = {};
  for (const [key, f] of Object.entries(spec)) {
    switch (f.kind) {
      case 'int8':
        out[key] = t.int8(f.field, f.default);
        break;
      case 'int32':
        out[key] = t.int32(f.field, f.default);
        break;
      case 'float32':
        out[key] = t.float32(f.field, f.default);
        break;
      case 'bool':
        out[key] = t.bool(f.field, f.default);
        break;
      case 'int32[]': {
        // Every int32 vector among the options is a shape or a list of axes.
        const values = t.int32s(f.field, key, MAX_RANK);
        if (values) out[key] = values;
        break;
      }
    }
  }
  return out as BuiltinOptions;
}
