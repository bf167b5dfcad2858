// `edgec run`: every sample of the input through the model, outputs printed or written as .npy.

import { readFile, writeFile } from 'node:fs/promises';
import { dataError } from '../src/ir/errors.ts';
import type { Graph } from '../src/ir/types.ts';
import { readNpy, sampleOf, writeNpy, type NdArray } from '../src/npy/npy.ts';
import { runSamples } from '../src/run-samples.ts';
import { progress } from './progress.ts';

export async function readInputs(paths: string[]): Promise<NdArray[]> {
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

/** `out.npy` for the first output, `out_1.npy`, `out_2.npy`, ... for the others. */
export function outputPath(base: string, index: number): string {
  if (index === 0) return base;
  return base.endsWith('.npy') ? `${base.slice(0, -4)}_${index}.npy` : `${base}_${index}`;
}

export async function runCommand(graph: Graph, inputPaths: string[], outputBase: string | undefined): Promise<string> {
  const inputs = await readInputs(inputPaths);
  const bar = progress(`running ${graph.name}`);
  const outputs = runSamples(graph, inputs, inputPaths, (done, total) => bar.update(done, total));
  bar.end();
  if (outputBase !== undefined) {
    await Promise.all(outputs.map((o, k) => writeFile(outputPath(outputBase, k), writeNpy(o))));
    return outputs.map((o, k) => `wrote ${outputPath(outputBase, k)}: [${o.shape}] ${o.dtype}`).join('\n');
  }
  const lines: string[] = [];
  const samples = outputs[0]?.shape[0] ?? 0;
  for (let i = 0; i < samples; i++) {
    outputs.forEach((o, k) => {
      const values = Array.from(sampleOf(o, i) as ArrayLike<number>);
      const shown = values.length > 32 ? `${values.slice(0, 32).join(' ')} ... (${values.length} values)` : values.join(' ');
      lines.push(`sample ${i}${outputs.length > 1 ? ` output ${k}` : ''}: ${shown}`);
    });
  }
  return lines.join('\n');
}
