// The `qemu` target: samples built into a firmware for the board, run in the QEMU machine that
// stands in for it; outputs and per-inference instruction counts come back over the UART.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GeneratedModel } from '../codegen/generate.ts';
import { embeddedRunner } from '../codegen/runners.ts';
import { dataBytes } from '../ir/dtype.ts';
import { EdgecError } from '../ir/errors.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import { runQemu } from '../toolchain/index.ts';
import { buildProject, writeFirmwareProject } from './firmware.ts';
import { unpackOutputs } from './samples.ts';

/** Flash kept for samples in one firmware; more samples are split over several runs. */
const SAMPLE_BYTES_PER_RUN = 256 * 1024;

export interface QemuResult {
  outputs: TensorData[][];
  /** Instructions (cycles on silicon) of each inference, as the board's counter measured them. */
  cycles: number[];
}

export async function runModelQemu(
  graph: Graph,
  model: GeneratedModel,
  boardName: string,
  samples: TensorData[][],
  onBatch: (done: number, total: number) => void = () => {},
): Promise<QemuResult> {
  const perSample = samples[0]?.reduce((n, s) => n + s.byteLength, 0) ?? 1;
  const batch = Math.max(1, Math.floor(SAMPLE_BYTES_PER_RUN / Math.max(1, perSample)));
  const result: QemuResult = { outputs: [], cycles: [] };
  for (let start = 0; start < samples.length; start += batch) {
    const part = samples.slice(start, start + batch);
    const dir = mkdtempSync(join(tmpdir(), 'edgec-qemu-'));
    try {
      const runner = { name: 'main.c', text: embeddedRunner(graph, model.prefix, part.map((s) => s.map(dataBytes))) };
      const project = writeFirmwareProject(dir, "firmware", boardName, model, [runner]);
      const firmware = await buildProject(project);
      const run = await runQemu({ board: project.board, elf: firmware.elf, timeoutMs: 120_000 + 1000 * part.length });
      if (run.exitCode !== 0) {
        throw new EdgecError('tool', `the firmware for ${boardName} stopped with exit code ${run.exitCode} in QEMU`, run.stderr ? [run.stderr] : []);
      }
      const { outputs, trailers } = unpackOutputs(graph, run.stdout, part.length, 4);
      result.outputs.push(...outputs);
      result.cycles.push(...trailers);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    onBatch(Math.min(samples.length, start + batch), samples.length);
  }
  return result;
}
