// The `wasm` target: the generated C compiled by Debian's emscripten into a bare WebAssembly
// module and run inside Node, sample by sample.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedModel } from '../codegen/generate.ts';
import { dataBytes, DTYPE_BYTES, numel } from '../ir/dtype.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import { HOST_CFLAGS } from './host.ts';
import { unpackOutputs } from './samples.ts';
import type { SourceTree } from './sources.ts';
import { findTool } from '../toolchain/index.ts';

/** Exports of the module: where the inputs and outputs live in its memory, and the inference. */
interface ModelExports {
  memory: WebAssembly.Memory;
  [name: string]: unknown;
}

export function buildWasm(tree: SourceTree, model: GeneratedModel): string {
  const out = join(tree.dir, `${model.prefix}.wasm`);
  const exported = ['invoke', 'reset', 'input', 'output'].map((f) => `_${model.prefix}_${f}`).join(',');
  const args = [
    ...HOST_CFLAGS,
    '-O2',
    ...tree.includes.map((i) => `-I${join(tree.dir, i)}`),
    ...tree.sources.map((s) => join(tree.dir, s)),
    '-sSTANDALONE_WASM',
    '--no-entry',
    `-sEXPORTED_FUNCTIONS=${exported}`,
    '-o',
    out,
  ];
  // Debian's emcc runs its JavaScript tools through Node and finds their modules here.
  const env = { ...process.env, NODE_PATH: '/usr/share/nodejs' };
  const result = spawnSync(findTool('emcc'), args, { encoding: 'utf8', env });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`emscripten build of the generated C failed:\n${result.stderr}`);
  return out;
}

export async function runWasm(wasmPath: string, graph: Graph, prefix: string, samples: TensorData[][], stateful = false): Promise<TensorData[][]> {
  const module = await WebAssembly.compile(readFileSync(wasmPath));
  // A standalone module may import a few WASI calls it never makes for a pure computation.
  const imports: WebAssembly.Imports = {};
  for (const entry of WebAssembly.Module.imports(module)) {
    (imports[entry.module] ??= {})[entry.name] = () => {
      throw new Error(`the model called ${entry.module}.${entry.name}, which a pure inference never should`);
    };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const exports = instance.exports as unknown as ModelExports;
  const call = (name: string, ...args: number[]) => (exports[`${prefix}_${name}`] as (...a: number[]) => number)(...args);
  (exports._initialize as (() => void) | undefined)?.();
  const stream: Uint8Array[] = [];
  for (const sample of samples) {
    sample.forEach((data, k) => new Uint8Array(exports.memory.buffer, call('input', k), data.byteLength).set(dataBytes(data)));
    if (!stateful) call('reset');
    call('invoke');
    graph.outputs.forEach((t, k) => {
      const size = numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype];
      stream.push(new Uint8Array(exports.memory.buffer, call('output', k), size).slice());
    });
  }
  return unpackOutputs(graph, new Uint8Array(Buffer.concat(stream)), samples.length);
}
