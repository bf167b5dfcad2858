// Calibration data: a .npy file, a .npz archive or a folder of PNG images, turned into float32
// samples of the model's inputs with the user's preprocessing applied. Everything that can be
// wrong with the data is reported against the file and the model input it was meant for.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { numel } from '../ir/dtype.ts';
import { dataError, modelError, usageError } from '../ir/errors.ts';
import type { Graph, Tensor } from '../ir/types.ts';
import { type NdArray, readNpy } from '../npy/npy.ts';
import type { CalibrationSet } from './activations.ts';
import { firstNonFinite } from './finite.ts';
import { type Image, decodePng } from './png.ts';
import { readZip } from './zip.ts';

export interface Preprocessing {
  /** Every raw value is multiplied by this first (1/255 for 8-bit images). Default 1. */
  scale?: number;
  /** Then this is subtracted: one value, or one per channel (the input's last axis). Default 0. */
  mean?: number | number[];
  /** Then the result is divided by this: one value or one per channel. Default 1. */
  std?: number | number[];
  /** PNG colour images: the channel order the model expects. Default 'rgb'. */
  channelOrder?: 'rgb' | 'bgr';
}

export interface LoadOptions extends Preprocessing {
  /** Use at most this many samples (the first ones, in file or file-name order). */
  maxSamples?: number;
}

/** Reads `path` (.npy, .npz or a folder of .png) as calibration samples for `graph`'s inputs. */
export async function loadCalibrationData(path: string, graph: Graph, options: LoadOptions = {}): Promise<CalibrationSet> {
  checkModelInputs(graph, path);
  const isFolder = (await readable(path, () => stat(path))).isDirectory();
  const arrays = isFolder ? [await readPngFolder(path, graph, options)] : readArrays(await readBytes(path), path, graph);
  return calibrationSet(graph, arrays, path, options);
}

/** File system failures (missing file, no permission) as data errors naming the path. */
async function readable<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw dataError(`${path}: cannot read the calibration data (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

const readBytes = async (path: string) => new Uint8Array(await readable(path, () => readFile(path)));

function checkModelInputs(graph: Graph, source: string): void {
  if (graph.inputs.length === 0) throw modelError(`${graph.name}: the model has no inputs to calibrate`);
  for (const t of graph.inputs) {
    const { name, dtype } = graph.tensors[t];
    if (dtype !== 'float32') {
      throw modelError(`${graph.name}: input '${name}' is ${dtype}: calibration with ${source} needs a float model (this one is quantized already)`);
    }
  }
}

function readArrays(bytes: Uint8Array, path: string, graph: Graph): NdArray[] {
  const isZip = (bytes[0] === 0x50 && bytes[1] === 0x4b) || path.toLowerCase().endsWith('.npz'); // "PK"
  if (!isZip) {
    if (graph.inputs.length > 1) throw dataError(`${path}: a .npy file holds one array, the model has ${graph.inputs.length} inputs (${inputNames(graph)}); use a .npz with one array per input`);
    return [readNpy(bytes, path)];
  }
  const arrays = new Map<string, NdArray>();
  for (const [name, data] of readZip(bytes, path)) {
    if (name.endsWith('.npy')) arrays.set(name.slice(0, -4), readNpy(data, `${path}:${name}`));
  }
  return graph.inputs.map((t, k) => pickArray(arrays, graph, graph.tensors[t].name, k, path));
}

/**
 * The array for input k: named after the input, or arr_k (np.savez's names for positional
 * arguments); for a single-input model also 'x' or the archive's only array.
 */
function pickArray(arrays: Map<string, NdArray>, graph: Graph, name: string, k: number, path: string): NdArray {
  const single = graph.inputs.length === 1;
  const candidates = [name, `arr_${k}`, ...(single ? ['x'] : [])];
  const found = candidates.find((c) => arrays.has(c));
  if (found) return arrays.get(found)!;
  if (single && arrays.size === 1) return [...arrays.values()][0];
  const held = arrays.size > 0 ? [...arrays.keys()].join(', ') : 'no .npy arrays';
  throw dataError(`${path}: no array for model input '${name}' (looked for ${candidates.join(', ')}); the archive holds ${held}`);
}

const inputNames = (graph: Graph) => graph.inputs.map((t) => `'${graph.tensors[t].name}'`).join(', ');

/** Image folders feed single-input NHWC models: every .png in name order, no resizing. */
async function readPngFolder(dir: string, graph: Graph, options: LoadOptions): Promise<NdArray> {
  if (graph.inputs.length !== 1) throw dataError(`${dir}: a folder of images feeds one input, the model has ${graph.inputs.length} (${inputNames(graph)})`);
  const input = graph.tensors[graph.inputs[0]];
  const shape = input.shape;
  if (shape.length < 3 || numel(shape.slice(0, -3)) !== 1) {
    throw dataError(`${dir}: model input '${input.name}' [${shape}] is not one image (H x W x C, after a batch of 1); use .npy data`);
  }
  const [height, width, channels] = shape.slice(-3);
  if (![1, 3, 4].includes(channels)) throw dataError(`${dir}: model input '${input.name}' has ${channels} channels; images convert to 1, 3 or 4`);
  const files = (await readable(dir, () => readdir(dir))).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (files.length === 0) throw dataError(`${dir}: the folder holds no .png images`);
  const used = files.slice(0, sampleLimit(options, files.length));
  const size = height * width * channels;
  const data = new Float32Array(used.length * size);
  for (const [i, file] of used.entries()) {
    const path = join(dir, file);
    const image = decodePng(await readBytes(path), path);
    if (image.width !== width || image.height !== height) {
      throw dataError(`${path}: the image is ${image.width}x${image.height}, model input '${input.name}' takes ${width}x${height} (images are not resized)`);
    }
    data.set(convertChannels(image, channels, options.channelOrder ?? 'rgb'), i * size);
  }
  return { dtype: 'float32', shape: [used.length, ...shape.slice(-3)], data };
}

/** Grey <-> colour conversions: luma with BT.601 weights, grey replicated, alpha dropped (or 255 when added). */
function convertChannels(image: Image, channels: number, order: 'rgb' | 'bgr'): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels * channels);
  const src = image.data;
  const colour = image.channels >= 3;
  for (let p = 0; p < pixels; p++) {
    const s = p * image.channels;
    const r = src[s];
    const g = colour ? src[s + 1] : r;
    const b = colour ? src[s + 2] : r;
    const alpha = image.channels === 2 || image.channels === 4 ? src[s + image.channels - 1] : 255;
    const o = p * channels;
    if (channels === 1) {
      out[o] = colour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
      continue;
    }
    out[o] = order === 'rgb' ? r : b;
    out[o + 1] = g;
    out[o + 2] = order === 'rgb' ? b : r;
    if (channels === 4) out[o + 3] = alpha;
  }
  return out;
}

function sampleLimit(options: LoadOptions, available: number): number {
  const max = options.maxSamples;
  if (max === undefined) return available;
  if (!Number.isInteger(max) || max < 1) throw usageError(`the sample limit must be a positive integer, got ${max}`);
  return Math.min(max, available);
}

/**
 * One array per graph input -> float32 samples. An array is either one sample (the input's shape)
 * or N of them ([N, ...input shape]); axes of size 1 may be left out or added.
 */
export function calibrationSet(graph: Graph, arrays: NdArray[], source: string, options: LoadOptions = {}): CalibrationSet {
  checkModelInputs(graph, source);
  if (arrays.length !== graph.inputs.length) throw dataError(`${source}: ${arrays.length} arrays for ${graph.inputs.length} model inputs (${inputNames(graph)})`);
  const counts = arrays.map((array, k) => sampleCount(array, graph.tensors[graph.inputs[k]], source));
  if (counts.some((c) => c !== counts[0])) {
    throw dataError(`${source}: the arrays hold different numbers of samples (${counts.join(', ')}); every input needs one per sample`);
  }
  const count = sampleLimit(options, counts[0]);
  if (count === 0) throw dataError(`${source}: the calibration set is empty; calibration needs at least one sample`);
  const inputs = arrays.map((array, k) => preprocess(array, graph.tensors[graph.inputs[k]], count, source, options));
  return { inputs, count };
}

function sampleCount(array: NdArray, input: Tensor, source: string): number {
  const squeezed = (shape: number[]) => shape.filter((d) => d !== 1).join();
  const fits = (shape: number[]) => squeezed(shape) === squeezed(input.shape);
  if (array.dtype === 'bool' || array.dtype === 'int64') {
    throw dataError(`${source}: the array for input '${input.name}' is ${array.dtype}; calibration data must be float32 or 8-32-bit integers`);
  }
  if (fits(array.shape)) return 1;
  if (array.shape.length > 0 && fits(array.shape.slice(1))) return array.shape[0];
  throw dataError(
    `${source}: the array for input '${input.name}' has shape [${array.shape}]; the input takes samples of shape [${input.shape}] (give [N, ${input.shape}] for N samples)`,
  );
}

/** (raw x scale - mean[c]) / std[c] over the first `count` samples, c the index along the input's last axis. */
function preprocess(array: NdArray, input: Tensor, count: number, source: string, options: Preprocessing): Float32Array {
  const channels = input.shape.length > 0 ? input.shape[input.shape.length - 1] : 1;
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale === 0) throw usageError(`the preprocessing scale must be a finite non-zero number, got ${scale}`);
  const mean = perChannel(options.mean ?? 0, channels, 'mean');
  const std = perChannel(options.std ?? 1, channels, 'std');
  if (std.some((s) => s === 0)) throw usageError('the preprocessing std must not be 0');
  const size = numel(input.shape);
  const raw = array.data as ArrayLike<number>;
  const out = new Float32Array(count * size);
  for (let i = 0; i < out.length; i++) {
    const c = i % channels;
    out[i] = (raw[i] * scale - mean[c]) / std[c];
  }
  const at = firstNonFinite(out);
  if (at >= 0) {
    const where = `sample ${Math.floor(at / size)}, element ${at % size} of input '${input.name}'`;
    throw dataError(
      Number.isFinite(raw[at])
        ? `${source}: preprocessing turns the value ${raw[at]} at ${where} into ${out[at]}; check the scale, mean and std`
        : `${source}: the data holds ${raw[at]} at ${where}; calibration data must be finite`,
    );
  }
  return out;
}

function perChannel(value: number | number[], channels: number, what: string): number[] {
  const values = typeof value === 'number' ? [value] : value;
  if (values.length !== 1 && values.length !== channels) {
    throw usageError(`the preprocessing ${what} has ${values.length} values; give one, or one per channel (${channels})`);
  }
  if (values.some((v) => !Number.isFinite(v))) throw usageError(`the preprocessing ${what} must be finite numbers`);
  return values.length === 1 ? new Array<number>(channels).fill(values[0]) : values;
}
