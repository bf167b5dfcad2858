// `edgec run`: every sample of the input through the model on a target; outputs printed or written as .npy.

import { writeFile } from 'node:fs/promises';
import type { Graph } from '../src/ir/types.ts';
import { sampleOf, writeNpy } from '../src/npy/npy.ts';
import { dequantizeOutputs, readSampleFiles, splitSamples, stackOutputs } from '../src/samples.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { progress } from './progress.ts';
import { thousands } from './table.ts';

/** `out.npy` for the first output, `out_1.npy`, `out_2.npy`, ... for the others. */
export function outputPath(base: string, index: number): string {
  if (index === 0) return base;
  return base.endsWith('.npy') ? `${base.slice(0, -4)}_${index}.npy` : `${base}_${index}`;
}

export interface RunRequest {
  graph: Graph;
  inputs: string[];
  output?: string;
  target: string;
  board?: string;
  /** int8 outputs as float32. */
  dequantize?: boolean;
  /** Recurrent state carries from one sample to the next. */
  stateful?: boolean;
}

/** One output of every sample for --json: the values of each sample, or the file they were written to. */
interface RunOutputJson {
  name: string;
  dtype: string;
  /** All samples stacked: the first axis is the sample. */
  shape: number[];
  values?: number[][];
  wrote?: string;
}

export async function runCommand(request: RunRequest): Promise<{ output: string; json: unknown }> {
  const { graph, target } = request;
  const samples = splitSamples(graph, await readSampleFiles(request.inputs), request.inputs);
  const bar = progress(`running ${graph.name} on ${target}`);
  const run = await runOnTarget(graph, target, samples, { board: request.board, stateful: request.stateful, onProgress: (d, t) => bar.update(d, t) });
  bar.end();
  const stacked = stackOutputs(graph, run.outputs);
  const outputs = request.dequantize ? dequantizeOutputs(graph, stacked) : stacked;
  const outputsJson: RunOutputJson[] = outputs.map((o, k) => ({
    name: graph.tensors[graph.outputs[k]].name,
    dtype: o.dtype,
    shape: o.shape,
    ...(request.output !== undefined
      ? { wrote: outputPath(request.output, k) }
      : { values: samples.map((_, i) => Array.from(sampleOf(o, i) as ArrayLike<number | bigint>, Number)) }),
  }));
  const json = {
    model: graph.name,
    target,
    ...(target === 'qemu' ? { board: request.board ?? 'stm32f4' } : {}),
    samples: samples.length,
    outputs: outputsJson,
    ...(run.cycles ? { instructions: run.cycles } : {}),
  };
  const lines: string[] = [];
  if (request.output !== undefined) {
    const base = request.output;
    await Promise.all(outputs.map((o, k) => writeFile(outputPath(base, k), writeNpy(o))));
    lines.push(...outputs.map((o, k) => `wrote ${outputPath(base, k)}: [${o.shape}] ${o.dtype}`));
  } else {
    for (let i = 0; i < samples.length; i++) {
      outputs.forEach((o, k) => {
        const values = Array.from(sampleOf(o, i) as ArrayLike<number>);
        const shown = values.length > 32 ? `${values.slice(0, 32).join(' ')} ... (${values.length} values)` : values.join(' ');
        const cycles = run.cycles && k === 0 ? `   [${thousands(run.cycles[i])} instructions]` : '';
        lines.push(`sample ${i}${outputs.length > 1 ? ` output ${k}` : ''}: ${shown}${cycles}`);
      });
    }
  }
  if (run.cycles && run.cycles.length > 0) {
    const sorted = [...run.cycles].sort((a, b) => a - b);
    lines.push(`instructions per inference: median ${thousands(sorted[sorted.length >> 1])}, min ${thousands(sorted[0])}, max ${thousands(sorted[sorted.length - 1])}`);
  }
  return { output: lines.join('\n'), json };
}
