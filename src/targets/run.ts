// Running a graph's samples on one of the targets: the TypeScript reference, the generated C on
// the host, in WebAssembly, or as firmware in QEMU.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateC } from '../codegen/generate.ts';
import { kernelEmitter } from '../codegen/ops/index.ts';
import { hostRunner } from '../codegen/runners.ts';
import { PORTABLE_TARGET } from '../codegen/target.ts';
import { usageError } from '../ir/errors.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import { createExecutor } from '../ref/execute.ts';
import { buildHost, runHost } from './host.ts';
import { runModelQemu } from './qemu.ts';
import { packSamples, unpackOutputs } from './samples.ts';
import { writeSourceTree } from './sources.ts';
import { TARGETS } from './names.ts';
import { buildWasm, runWasm } from './wasm.ts';


export interface TargetRun {
  outputs: TensorData[][];
  /** Per-sample instruction counts (qemu only). */
  cycles?: number[];
}

export interface TargetOptions {
  board?: string;
  sanitize?: boolean;
  /** Carry recurrent state (LSTM) from one sample to the next, as for one stream; by default each sample starts from cleared state. */
  stateful?: boolean;
  onProgress?: (done: number, total: number) => void;
}

async function inTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runOnTarget(graph: Graph, target: string, samples: TensorData[][], options: TargetOptions = {}): Promise<TargetRun> {
  const progress = options.onProgress ?? (() => {});
  switch (target) {
    case 'ref': {
      const run = createExecutor(graph);
      return {
        outputs: samples.map((s, i) => {
          if (!options.stateful) run.reset();
          const out = run(s);
          progress(i + 1, samples.length);
          return out;
        }),
      };
    }
    case 'host':
      return inTempDir('edgec-host-', async (dir) => {
        const model = generateC(graph, { target: PORTABLE_TARGET, emitter: kernelEmitter });
        const tree = writeSourceTree(dir, model, [{ name: 'main_host.c', text: hostRunner(graph, model.prefix, options.stateful) }]);
        const exe = buildHost(tree, { sanitize: options.sanitize });
        return { outputs: unpackOutputs(graph, runHost(exe, packSamples(samples)), samples.length) };
      });
    case 'wasm':
      return inTempDir('edgec-wasm-', async (dir) => {
        const model = generateC(graph, { target: PORTABLE_TARGET, emitter: kernelEmitter });
        const tree = writeSourceTree(dir, model);
        return { outputs: await runWasm(buildWasm(tree, model), graph, model.prefix, samples, options.stateful) };
      });
    case 'qemu': {
      const { outputs, cycles } = await runModelQemu(graph, options.board ?? 'stm32f4', samples, progress, options.stateful);
      return { outputs, cycles };
    }
    default:
      throw usageError(`unknown target '${target}': choose one of ${TARGETS.join(', ')}`);
  }
}
