// The `qemu` target: the model built once into a HIL firmware for the board, booted in the QEMU
// machine that stands in for it, and every sample streamed to it over the console UART.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulatedBoard } from '../device/qemu-board.ts';
import type { Graph } from '../ir/types.ts';
import type { TensorData } from '../ir/types.ts';
import { loadBoard, qemuMachine } from '../toolchain/index.ts';
import { buildForBoard } from './build.ts';
import { runOnBoard, type BoardRun } from './hil.ts';

export async function runModelQemu(
  graph: Graph,
  boardName: string,
  samples: TensorData[][],
  onProgress: (done: number, total: number) => void = () => {},
  stateful = false,
): Promise<BoardRun> {
  // Before the build, which would take its time only to find nothing to run it in.
  const spec = loadBoard(boardName);
  qemuMachine(spec);
  const dir = mkdtempSync(join(tmpdir(), 'edgec-qemu-'));
  try {
    const { firmware, report } = await buildForBoard(graph, boardName, dir, { firmware: 'hil' });
    const board = startEmulatedBoard(spec, firmware.elf);
    try {
      return await runOnBoard(board, graph, samples, { modelHash: report.modelHash, onProgress, stateful });
    } finally {
      await board.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
