// Input arrays (first axis = sample) cut into samples for a graph, and per-sample outputs stacked back.

import { readFile } from 'node:fs/promises';
import { allocate, DTYPE_RANGE, numel } from './ir/dtype.ts';
import { dataError } from './ir/errors.ts';
import type { Graph, Tensor, TensorData } from './ir/types.ts';
import { readNpy, sampleOf, type NdArray } from './npy/npy.ts';
import { dequantize, quantize } from './ref/quantize.ts';

/** int8 and uint8 model inputs and outputs (an int8 model's, with uint8 I/O as TFLite's converter can write it). */
const is8bit = (tensor: Tensor) => (tensor.dtype === 'int8' || tensor.dtype === 'uint8') && tensor.quant !== undefined;

/** Checks that each array holds whole samples of the matching graph input; returns the sample count. */
export function countSamples(graph: Graph, arrays: NdArray[], names: string[]): number {
  if (arrays.length !== graph.inputs.length) {
    throw dataError(`${graph.name} has ${graph.inputs.length} input(s), ${arrays.length} input file(s) were given`);
  }
  let samples = -1;
  arrays.forEach((array, k) => {
    const tensor = graph.tensors[graph.inputs[k]];
    const per = numel(tensor.shape);
    if (array.dtype !== tensor.dtype) {
      throw dataError(`${names[k]}: holds ${array.dtype}, input '${tensor.name}' of ${graph.name} is ${tensor.dtype}`);
    }
    if (array.shape.length === 0 || numel(array.shape.slice(1)) !== per) {
      throw dataError(
        `${names[k]}: shape [${array.shape}] is not samples of input '${tensor.name}' [${tensor.shape}] ` +
          `(expected [N, ${tensor.shape.join(', ')}] or [N, ...] with ${per} values per sample)`,
      );
    }
    if (samples >= 0 && array.shape[0] !== samples) {
      throw dataError(`${names[k]}: ${array.shape[0]} samples, the first input file has ${samples}`);
    }
    samples = array.shape[0];
  });
  return samples;
}

/**
 * The arrays cut into samples: `[sample][input]`. Float32 data for an int8 or uint8 input is
 * quantized with the input's scale and zero point, as TFLite's QUANTIZE does.
 */
export function splitSamples(graph: Graph, arrays: NdArray[], names: string[]): TensorData[][] {
  const ready = arrays.map((a, k) => {
    const tensor = graph.tensors[graph.inputs[k]];
    if (!tensor || a.dtype !== 'float32' || !is8bit(tensor)) return a;
    const bad = (a.data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const per = numel(a.shape.slice(1));
      throw dataError(
        `${names[k]}: holds ${a.data[bad]} (sample ${Math.floor(bad / per)}, value ${bad % per}); an int8 input quantizes only finite numbers: ` +
          'clean the data or replace what is missing before running',
      );
    }
    const [min, max] = DTYPE_RANGE[tensor.dtype]!;
    const params = { mode: 'affine' as const, scale: tensor.quant!.scale[0], zeroPoint: tensor.quant!.zeroPoint[0], min, max };
    return { dtype: tensor.dtype, shape: a.shape, data: quantize(params, a.data as Float32Array, allocate(tensor.dtype, a.data.length) as Int8Array) };
  });
  const count = countSamples(graph, ready, names);
  return Array.from({ length: count }, (_, i) => ready.map((a) => sampleOf(a, i)));
}

/** int8 and uint8 outputs as float32 through their scale and zero point (TFLite's DEQUANTIZE); other outputs as they are. */
export function dequantizeOutputs(graph: Graph, outputs: NdArray[]): NdArray[] {
  return outputs.map((o, k) => {
    const tensor = graph.tensors[graph.outputs[k]];
    if (o.dtype !== tensor.dtype || !is8bit(tensor)) return o;
    const params = { scale: tensor.quant!.scale[0], zeroPoint: tensor.quant!.zeroPoint[0] };
    return { dtype: 'float32' as const, shape: o.shape, data: dequantize(params, o.data as Int8Array | Uint8Array) };
  });
}

/** Per-sample outputs stacked along a new first axis, one array per graph output. */
export function stackOutputs(graph: Graph, outputs: TensorData[][]): NdArray[] {
  return graph.outputs.map((t, k) => {
    const tensor = graph.tensors[t];
    const per = numel(tensor.shape);
    const data = allocate(tensor.dtype, outputs.length * per);
    outputs.forEach((sample, i) => (data as Int8Array).set(sample[k] as Int8Array, i * per));
    return { dtype: tensor.dtype, shape: [outputs.length, ...tensor.shape], data };
  });
}

/** Reads .npy files of samples, with errors that name the file. */
export async function readSampleFiles(paths: string[]): Promise<NdArray[]> {
  return Promise.all(
    paths.map(async (path) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(path));
      } catch (e) {
        throw dataError(`${path}: cannot read the input file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      return readNpy(bytes, path);
    }),
  );
}
