import test from 'ava';
import { EdgecError } from '../src/ir/errors.ts';
import { FlatBuffer } from '../src/tflite/flat.ts';
import type { BuiltinOptionsMap } from '../src/tflite/model.ts';
import { readTflite } from '../src/tflite/reader.ts';
import { BufferField, BuiltinOptionsType as O, BuiltinOperator as B, ModelField, OperatorCodeField } from '../src/tflite/schema.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { ModelBuilder, ORACLES, oracleModel } from './helpers/tflite-models.ts';

for (const name of ORACLES) {
  test(`${name}: read -> write -> read gives the same model`, (t) => {
    const model = readTflite(oracleModel(name));
    const written = writeTflite(model);
    t.deepEqual(readTflite(written), model);
    // And writing is deterministic.
    t.deepEqual(writeTflite(readTflite(written)), written);
  });
}

test('buffers without data get no data vector; data is 16-byte aligned', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [3], 'float32');
  const c = m.tensor('c', [3], 'float32', { data: new Float32Array([1, 2, 3]) });
  const odd = m.tensor('odd', [5], 'int8', { data: new Int8Array([1, 2, 3, 4, 5]), scale: [1] });
  const y = m.tensor('y', [3], 'float32');
  m.op(B.ADD, [x, c], [y], { type: O.AddOptions, value: { activation: 0, potScaleInt16: true } });
  const bytes = m.bytes([x], [y]);

  const buffers = new FlatBuffer(bytes, 'm').root('model').tables(ModelField.buffers, 'buffers', (i) => `buffer ${i}`)!;
  t.is(buffers.length, 3);
  t.false(buffers[0].has(BufferField.data));
  for (const buffer of buffers.slice(1)) {
    const data = buffer.bytes(BufferField.data, 'data')!;
    t.is(data.byteOffset % 16, 0);
  }
  const model = readTflite(bytes);
  t.deepEqual([...new Float32Array(model.buffers[1].data.slice().buffer)], [1, 2, 3]);
  t.is(model.subgraphs[0].tensors[odd].buffer, 2);
});

test('operator codes above 127 keep the placeholder in the old byte field and read back exactly', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [2], 'float32');
  const y = m.tensor('y', [2], 'float32');
  m.op(150, [x], [y]);
  m.op(B.RELU, [y], [x]);
  const bytes = m.bytes([x], [x]);
  const codes = new FlatBuffer(bytes, 'm').root('model').tables(ModelField.operatorCodes, 'codes', (i) => `code ${i}`)!;
  t.deepEqual(
    codes.map((c) => [c.int8(OperatorCodeField.deprecatedBuiltinCode), c.int32(OperatorCodeField.builtinCode)]),
    [
      [127, 150],
      [B.RELU, B.RELU],
    ],
  );
  t.deepEqual(
    readTflite(bytes).operatorCodes.map((c) => c.builtinCode),
    [150, B.RELU],
  );
});

/** One non-default value per field, for every option table the importer uses. */
const OPTIONS: { [K in keyof BuiltinOptionsMap]: BuiltinOptionsMap[K] } = {
  [O.Conv2DOptions]: { padding: 1, strideW: 2, strideH: 3, activation: 3, dilationW: 4, dilationH: 5, quantizedBiasType: 2 },
  [O.DepthwiseConv2DOptions]: { padding: 1, strideW: 2, strideH: 3, depthMultiplier: 4, activation: 1, dilationW: 2, dilationH: 3 },
  [O.Pool2DOptions]: { padding: 1, strideW: 2, strideH: 3, filterW: 4, filterH: 5, activation: 2 },
  [O.FullyConnectedOptions]: { activation: 1, weightsFormat: 1, keepNumDims: true, asymmetricQuantizeInputs: true, quantizedBiasType: 4 },
  [O.SoftmaxOptions]: { beta: 0.5 },
  [O.ConcatenationOptions]: { axis: -2, activation: 3 },
  [O.AddOptions]: { activation: 1, potScaleInt16: false },
  [O.ReshapeOptions]: { newShape: [1, -1, 7] },
  [O.MulOptions]: { activation: 3 },
  [O.PadOptions]: {},
  [O.ReducerOptions]: { keepDims: true },
  [O.SubOptions]: { activation: 2, potScaleInt16: false },
  [O.SqueezeOptions]: { squeezeDims: [-1, 0] },
  [O.DequantizeOptions]: {},
  [O.PadV2Options]: {},
  [O.UnidirectionalSequenceLSTMOptions]: { activation: 4, cellClip: 2.5, projClip: 0.5, timeMajor: true, asymmetricQuantizeInputs: true, diagonalRecurrentTensors: true },
  [O.LeakyReluOptions]: { alpha: 0.25 },
  [O.QuantizeOptions]: {},
  [O.HardSwishOptions]: {},
  [O.SpaceToDepthOptions]: { blockSize: 2 },
  [O.GatherOptions]: { axis: -1, batchDims: 1 },
  [O.TransposeOptions]: {},
  [O.StridedSliceOptions]: { beginMask: 1, endMask: 2, ellipsisMask: 4, newAxisMask: 8, shrinkAxisMask: 16, offset: true },
  [O.SplitOptions]: { numSplits: 3 },
  [O.SliceOptions]: {},
  [O.ExpandDimsOptions]: {},
  [O.PackOptions]: { valuesCount: 2, axis: -1 },
  [O.UnpackOptions]: { num: 3, axis: 1 },
  [O.SplitVOptions]: { numSplits: 2 },
  [O.DepthToSpaceOptions]: { blockSize: 3 },
  [O.MaximumMinimumOptions]: {},
  [O.DivOptions]: { activation: 1 },
  [O.ResizeNearestNeighborOptions]: { alignCorners: true, halfPixelCenters: true },
  [O.SVDFOptions]: { rank: 2, activation: 1, asymmetricQuantizeInputs: true },
  [O.ResizeBilinearOptions]: { alignCorners: true, halfPixelCenters: true },
  [O.ArgMaxOptions]: { outputType: 4 },
  [O.ArgMinOptions]: { outputType: 2 },
  [O.SquaredDifferenceOptions]: {},
  [O.ExpOptions]: {},
  [O.LogSoftmaxOptions]: {},
  [O.BatchMatMulOptions]: { adjX: true, adjY: true, asymmetricQuantizeInputs: true },
  [O.TransposeConvOptions]: { padding: 1, strideW: 2, strideH: 3, activation: 1, quantizedBiasType: 2 },
};

test('every option table round-trips with non-default values', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1], 'float32');
  const types = Object.keys(OPTIONS).map(Number) as (keyof BuiltinOptionsMap)[];
  for (const type of types) m.op(B.CUSTOM, [x], [x], { type, value: OPTIONS[type] }, `op${type}`);
  const read = readTflite(m.bytes([x], [x])).subgraphs[0].operators;
  t.deepEqual(
    read.map((op) => [op.builtinOptionsType, op.builtinOptions]),
    types.map((type) => [type, OPTIONS[type]]),
  );
});

test('the writer refuses what it cannot write faithfully', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1], 'float32');
  m.op(B.CUSTOM, [x], [x], undefined, 'foo');
  const model = m.build([x], [x]);
  model.subgraphs[0].operators[0].builtinOptionsType = 47;
  t.throws(() => writeTflite(model), { instanceOf: EdgecError, message: /operator 0 has builtin options of type 47/ });

  model.subgraphs[0].operators[0].builtinOptionsType = 0;
  model.buffers[0] = { data: new Uint8Array([1]) };
  t.throws(() => writeTflite(model), { instanceOf: EdgecError, message: /buffer 0 must exist and be empty/ });
});
