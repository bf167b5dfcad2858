// The calibration options `edgec quantize` and `edgec build` share.

import { usageError } from '../src/ir/errors.ts';
import type { QuantizeRequest } from '../src/pipeline.ts';
import type { ObserverKind } from '../src/quant/observers.ts';
import { AUTO_SHARE } from '../src/quant/precision.ts';
import type { PtqTechniques, Technique, TechniqueMode } from '../src/quant/ptq.ts';
import type { FlagSpec, ParsedArgs } from './args.ts';

/** One flag per quantization technique (src/quant/ptq.ts), with the technique it sets. */
const TECHNIQUE_FLAG_NAMES: Record<string, Technique> = { equalize: 'equalization', 'joint-ranges': 'jointRanges', 'bias-correction': 'biasCorrection' };
const TECHNIQUE_HELP: Record<Technique, string> = {
  equalization: 'cross-layer equalization of conv/depthwise/dense chains',
  jointRanges: 'ADD and CONCATENATION input ranges chosen with their output',
  biasCorrection: "each layer's mean int8 error folded into its bias",
};

const MODES: TechniqueMode[] = ['on', 'off', 'auto'];
const OBSERVERS: ObserverKind[] = ['minmax', 'percentile', 'mse'];

const TECHNIQUE_FLAGS: Record<string, FlagSpec> = Object.fromEntries(
  Object.entries(TECHNIQUE_FLAG_NAMES).map(([flag, technique]) => [
    flag,
    { value: true, choices: MODES, help: `${TECHNIQUE_HELP[technique]}: on, off or auto (default: kept only if it raises the output SQNR on held-out calibration samples without losing top-1 agreement beyond one sample)` },
  ]),
);

export const CALIB_FLAGS: Record<string, FlagSpec> = {
  calib: { value: true, help: 'calibration data: .npy, .npz or a folder of PNG images (quantizes a float model to int8)' },
  samples: { value: true, help: 'use at most this many calibration samples' },
  observer: { value: true, choices: OBSERVERS, help: 'range observer: minmax (default), percentile or mse' },
  percentile: { value: true, help: 'with --observer percentile: the percentile kept (default 99.99)' },
  scale: { value: true, help: 'preprocessing: multiply raw values by this (e.g. 0.00392157 for 8-bit images)' },
  mean: { value: true, help: 'preprocessing: then subtract this (one value, or comma-separated per channel)' },
  std: { value: true, help: 'preprocessing: then divide by this (one value, or comma-separated per channel)' },
  'channel-order': { value: true, choices: ['rgb', 'bgr'], help: 'PNG colour images: rgb (default) or bgr' },
  io: { value: true, choices: ['int8', 'float'], help: 'int8 (default) or float model inputs and outputs' },
  activations: {
    value: true,
    choices: ['int8', 'int16'],
    help: "int8 (default) or int16: every layer whose op has a 16x8 kernel (conv, depthwise conv, fully connected, add, reshape) gets symmetric int16 activations with int8 weights and an int64 bias (TFLite's 16x8 scheme); the others stay int8, with QUANTIZE ops between",
  },
  'int16-layers': {
    value: true,
    help: `mixed precision: these layers get int16 activations, the rest stay as --activations says; comma-separated op numbers or output tensor names as the per-layer report prints them, or auto: the ${100 * AUTO_SHARE}% (at least one) of the conv, depthwise, fully connected and add layers with the lowest SQNR in the int8 report, each with the 16x8 layers that read its output (on to the first op without a 16x8 kernel)`,
  },
  requantize: { help: 'the model is quantized already: turn it back into float (weights dequantized) and quantize it again from --calib' },
  ...TECHNIQUE_FLAGS,
  rounding: { value: true, choices: ['nearest', 'adaptive'], help: 'weight rounding: nearest (default) or adaptive (each weight rounded up or down to keep each layer\'s outputs on the calibration data closest)' },
};

function techniques(value: (flag: string) => string | undefined): PtqTechniques {
  const chosen: PtqTechniques = {};
  for (const [flag, technique] of Object.entries(TECHNIQUE_FLAG_NAMES)) {
    const mode = value(flag);
    if (mode === undefined) continue;
    chosen[technique] = mode as TechniqueMode;
  }
  const rounding = value('rounding') as PtqTechniques['rounding'];
  if (rounding !== undefined) chosen.rounding = rounding;
  return chosen;
}


function number(verb: string, flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw usageError(`edgec ${verb}: --${flag} takes a number, got '${text}'`);
  return n;
}

function numbers(verb: string, flag: string, text: string): number | number[] {
  const list = text.split(',').map((part) => number(verb, flag, part));
  return list.length === 1 ? list[0] : list;
}

/** The quantization request the flags describe, or undefined without --calib. */
export function quantizeRequest(verb: string, args: ParsedArgs): QuantizeRequest | undefined {
  const value = (flag: string) => args.values.get(flag)?.[0];
  const calib = value('calib');
  if (calib === undefined) {
    const stray = Object.keys(CALIB_FLAGS).filter((f) => args.values.has(f) || args.switches.has(f));
    if (stray.length > 0) throw usageError(`edgec ${verb}: ${stray.map((f) => `--${f}`).join(', ')} need --calib <data>`);
    return undefined;
  }
  const observer = value('observer') ?? 'minmax';
  const io = (value('io') ?? 'int8') as 'int8' | 'float';
  const int16Layers = value('int16-layers');
  const layers = int16Layers?.split(',').map((name) => name.trim());
  if (layers?.some((name) => name === '')) throw usageError(`edgec ${verb}: --int16-layers takes comma-separated layer names or numbers, or auto, got '${int16Layers}'`);
  const order = (value('channel-order') ?? 'rgb') as 'rgb' | 'bgr';
  const samples = value('samples');
  if (samples !== undefined && !(Number.isInteger(Number(samples)) && Number(samples) > 0)) {
    throw usageError(`edgec ${verb}: --samples takes a positive whole number, got '${samples}'`);
  }
  return {
    calib,
    observer: { kind: observer as ObserverKind, ...(value('percentile') ? { percentile: number(verb, 'percentile', value('percentile')!) } : {}) },
    io,
    activations: (value('activations') ?? 'int8') as 'int8' | 'int16',
    ...(layers ? { int16Layers: layers.length === 1 && layers[0] === 'auto' ? ('auto' as const) : layers } : {}),
    channelOrder: order,
    ...(args.switches.has('requantize') ? { requantize: true } : {}),
    techniques: techniques(value),
    ...(samples ? { maxSamples: Number(samples) } : {}),
    ...(value('scale') ? { scale: number(verb, 'scale', value('scale')!) } : {}),
    ...(value('mean') ? { mean: numbers(verb, 'mean', value('mean')!) } : {}),
    ...(value('std') ? { std: numbers(verb, 'std', value('std')!) } : {}),
  };
}
