import test from 'ava';
import { Builder } from 'flatbuffers';
import { EdgecError } from '../src/ir/errors.ts';
import { readTflite } from '../src/tflite/reader.ts';
import {
  BufferField,
  BuiltinOperator as B,
  BuiltinOptionsType as O,
  ModelField,
  OperatorCodeField,
  SubGraphField,
  TensorField,
  TensorType,
} from '../src/tflite/schema.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { ModelBuilder, oracleModel } from './helpers/tflite-models.ts';

const rejects = (t: import('ava').ExecutionContext, bytes: Uint8Array, message: RegExp | string) => {
  const error = t.throws(() => readTflite(bytes, 'model.tflite'), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  if (typeof message === 'string') t.is(error?.message, message);
  else t.regex(error?.message ?? '', message);
};

/** x -> RELU -> y, float32 [1,4]; `edit` may break it before writing. */
function reluModel(edit: (m: ModelBuilder, ids: { x: number; y: number }) => void = () => {}): Uint8Array {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4], 'float32');
  const y = m.tensor('y', [1, 4], 'float32');
  m.op(B.RELU, [x], [y]);
  edit(m, { x, y });
  return m.bytes([x], [y]);
}

test('reads the oracle models', (t) => {
  const model = readTflite(oracleModel('micro_speech'), 'micro_speech.tflite');
  t.is(model.version, 3);
  t.deepEqual(
    model.operatorCodes.map((c) => c.builtinCode),
    [B.DEPTHWISE_CONV_2D, B.FULLY_CONNECTED, B.RESHAPE, B.SOFTMAX],
  );
  const [subgraph] = model.subgraphs;
  const input = subgraph.tensors[subgraph.inputs[0]];
  t.deepEqual(input.shape, [1, 1960]);
  t.is(input.type, TensorType.INT8);
  t.is(input.quantization?.scale.length, 1);

  const person = readTflite(oracleModel('person_detect')).subgraphs[0];
  const filter = person.tensors[person.operators[0].inputs[1]];
  t.deepEqual(filter.shape, [1, 3, 3, 8]);
  t.is(filter.quantization?.scale.length, 8);
  t.is(filter.quantization?.quantizedDimension, 3);
});

test('rejects files that are not TFLite models', (t) => {
  rejects(t, new Uint8Array(4), 'model.tflite: file: 4 bytes is too short to be a TFLite model');
  rejects(t, new TextEncoder().encode('{"format": "layers-model"}'), /not a TFLite model \(file identifier "rmat"/);
  const old = new ModelBuilder();
  old.model.version = 2;
  rejects(t, old.bytes([], []), /schema version 2 is not supported/);
});

test('names the tensor, buffer, shape and sizes when constant data has the wrong size', (t) => {
  const bytes = reluModel((m) => m.tensor('conv1/weights', [8, 3, 3, 1], 'int8', { data: new Int8Array(100), scale: [1] }));
  rejects(t, bytes, "model.tflite: tensor 2 'conv1/weights': buffer 1 has 100 bytes, shape [8,3,3,1] int8 needs 72");
});

test('rejects absurd shapes', (t) => {
  rejects(
    t,
    reluModel((m) => m.tensor('neg', [1, -3], 'float32')),
    "model.tflite: tensor 2 'neg': shape [1,-3] has a negative dimension",
  );
  rejects(
    t,
    reluModel((m) => m.tensor('big', [65536, 65536, 2], 'int8')),
    /tensor 2 'big': shape \[65536,65536,2\] has more than 2147483647 elements/,
  );
  rejects(
    t,
    reluModel((m) => m.tensor('deep', new Array(17).fill(1), 'int8')),
    /tensor 2 'deep': shape has 17 entries \(at most 16 allowed\)/,
  );
  rejects(
    t,
    reluModel((m) => m.build([], []).subgraphs[0].tensors.push({ name: 's', shape: [2], shapeSignature: [-2], type: 0, buffer: 0, isVariable: false })),
    /tensor 2 's': shape signature \[-2\] does not fit shape \[2\]/,
  );
  rejects(
    t,
    reluModel((m, { x, y }) => m.op(B.RESHAPE, [x], [y], { type: O.ReshapeOptions, value: { newShape: new Array(17).fill(1) } })),
    "model.tflite: operator 1 options: newShape has 17 entries (at most 16 allowed)",
  );
});

test('rejects indices out of range', (t) => {
  rejects(
    t,
    reluModel((m) => (m.model.subgraphs[0].operators[0].opcodeIndex = 3)),
    'model.tflite: operator 0: operator code 3 does not exist (the model has 1)',
  );
  rejects(
    t,
    reluModel((m) => (m.model.subgraphs[0].operators[0].inputs = [7])),
    'model.tflite: operator 0 inputs: refers to tensor 7, but the subgraph has 2 tensors',
  );
  rejects(
    t,
    reluModel((m) => (m.model.subgraphs[0].operators[0].outputs = [-1])),
    'model.tflite: operator 0 outputs: refers to tensor -1, but the subgraph has 2 tensors',
  );
  rejects(
    t,
    reluModel((m) => (m.model.subgraphs[0].tensors[0].buffer = 5)),
    "model.tflite: tensor 0 'x': buffer 5 does not exist (the model has 1)",
  );
  const model = readTflite(reluModel((m) => (m.model.subgraphs[0].operators[0].inputs = [0, -1])));
  t.deepEqual(model.subgraphs[0].operators[0].inputs, [0, -1]);
  const bytes = new ModelBuilder().bytes([4], []);
  rejects(t, bytes, 'model.tflite: inputs: refers to tensor 4, but the subgraph has 0 tensors');
});

test('every truncation of a model is rejected with a model error', (t) => {
  const bytes = oracleModel('hello_world_int8');
  for (let end = 0; end < bytes.length; end += 7) {
    const error = t.throws(() => readTflite(bytes.subarray(0, end)), { instanceOf: EdgecError });
    if (error?.kind !== 'model') t.fail(`truncation at ${end}: ${error?.message}`);
  }
});

// Files the writer never produces, built field by field.

function finishModel(b: Builder, fields: { codes?: number[]; subgraphs?: number[]; buffers?: number[] }): Uint8Array {
  const vector = (items: number[] = []) => {
    b.startVector(4, items.length, 4);
    for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]);
    return b.endVector();
  };
  const codes = vector(fields.codes);
  const subgraphs = vector(fields.subgraphs);
  const buffers = vector(fields.buffers);
  b.startObject(ModelField.buffers + 1);
  b.addFieldInt32(ModelField.version, 3, 0);
  b.addFieldOffset(ModelField.operatorCodes, codes, 0);
  b.addFieldOffset(ModelField.subgraphs, subgraphs, 0);
  b.addFieldOffset(ModelField.buffers, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

function emptyTable(b: Builder): number {
  b.startObject(0);
  return b.endObject();
}

function subgraphWithTensors(b: Builder, tensors: number[]): number {
  b.startVector(4, tensors.length, 4);
  for (let i = tensors.length - 1; i >= 0; i--) b.addOffset(tensors[i]);
  const vector = b.endVector();
  b.startObject(SubGraphField.tensors + 1);
  b.addFieldOffset(SubGraphField.tensors, vector, 0);
  return b.endObject();
}

test('the builtin code is the larger of the two OperatorCode fields', (t) => {
  const b = new Builder();
  const code = (deprecated: number, current?: number) => {
    b.startObject(OperatorCodeField.builtinCode + 1);
    b.addFieldInt8(OperatorCodeField.deprecatedBuiltinCode, deprecated, 0);
    if (current !== undefined) b.addFieldInt32(OperatorCodeField.builtinCode, current, 0);
    return b.endObject();
  };
  const codes = [code(B.FULLY_CONNECTED), code(127, 150), code(0, B.CONV_2D)];
  const model = readTflite(finishModel(b, { codes, subgraphs: [emptyTable(b)], buffers: [emptyTable(b)] }));
  t.deepEqual(
    model.operatorCodes.map((c) => c.builtinCode),
    [B.FULLY_CONNECTED, 150, B.CONV_2D],
  );
});

/** A model whose buffer 1 keeps its data outside the flatbuffer, at file offset 4096. */
function externalDataModel(size: number, fileLength: number): Uint8Array {
  const b = new Builder();
  const shape = (() => {
    b.startVector(4, 1, 4);
    b.addInt32(4);
    return b.endVector();
  })();
  b.startObject(TensorField.buffer + 1);
  b.addFieldOffset(TensorField.shape, shape, 0);
  b.addFieldInt8(TensorField.type, TensorType.FLOAT32, 0);
  b.addFieldInt32(TensorField.buffer, 1, 0);
  const tensor = b.endObject();
  b.startObject(BufferField.size + 1);
  b.addFieldInt64(BufferField.offset, 4096n, 0n);
  b.addFieldInt64(BufferField.size, BigInt(size), 0n);
  const external = b.endObject();
  const flat = finishModel(b, { subgraphs: [subgraphWithTensors(b, [tensor])], buffers: [emptyTable(b), external] });
  const file = new Uint8Array(fileLength);
  file.set(flat);
  return file;
}

test('reads constant data stored after the flatbuffer (Buffer.offset/size) with the same checks', (t) => {
  const file = externalDataModel(16, 4096 + 16);
  new Float32Array(file.buffer, 4096, 4).set([1, 2, 3, 4]);
  const model = readTflite(file);
  t.deepEqual([...new Float32Array(model.buffers[1].data.slice().buffer)], [1, 2, 3, 4]);

  rejects(t, externalDataModel(16, 4096 + 8), /buffer 1: external data at byte 4096 \(16 bytes\) lies outside the 4104-byte file/);
  rejects(t, externalDataModel(12, 4096 + 12), /tensor 0: buffer 1 has 12 bytes, shape \[4\] float32 needs 16/);
});

test('rejects a sentinel buffer 0 that holds data', (t) => {
  const b = new Builder();
  const data = b.createByteVector(new Uint8Array([1, 2]));
  b.startObject(1);
  b.addFieldOffset(BufferField.data, data, 0);
  const buffer = b.endObject();
  rejects(t, finishModel(b, { subgraphs: [emptyTable(b)], buffers: [buffer] }), 'model.tflite: buffer 0: holds 2 bytes but must be the empty sentinel');
  rejects(t, finishModel(new Builder(), {}), 'model.tflite: model: has no subgraphs');
});

test('offsets that all point at the same table cannot make reading take unbounded time', (t) => {
  const b = new Builder();
  const shape = (() => {
    b.startVector(4, 16, 4);
    for (let i = 0; i < 16; i++) b.addInt32(1);
    return b.endVector();
  })();
  b.startObject(TensorField.shape + 1);
  b.addFieldOffset(TensorField.shape, shape, 0);
  const tensor = b.endObject();
  const bytes = finishModel(b, { subgraphs: [subgraphWithTensors(b, new Array(20000).fill(tensor))], buffers: [emptyTable(b)] });
  rejects(t, bytes, /offsets refer to the same data over and over/);
});

test('tensor and subgraph names are decoded as UTF-8; missing ones are empty', (t) => {
  const model = readTflite(reluModel((m) => (m.model.subgraphs[0].tensors[0].name = 'entrée/χ')));
  t.is(model.subgraphs[0].tensors[0].name, 'entrée/χ');
  const unnamed = readTflite(writeTflite({ ...readTflite(reluModel()), description: 'd' }));
  t.is(unnamed.description, 'd');
  t.is(unnamed.subgraphs[0].name, undefined);
});
