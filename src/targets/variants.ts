// The variant report: one model as float, int8, pruned float and pruned int8, each measured the
// same way on a board: constant bytes, flash and arena as `edgec build` reports them, MACs, and
// instructions per inference in the board's QEMU machine. Accuracy is the caller's (it knows the
// data and the labels).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph, TensorData } from '../ir/types.ts';
import { formatTable, thousands } from '../text-table.ts';
import { buildForBoard } from './build.ts';
import { runOnTarget } from './run.ts';

export interface Variant {
  name: string;
  macs: number;
  /** Constants in flash: weights, biases, requantization tables. */
  weightBytes: number;
  flashBytes: number;
  arenaBytes: number;
  /** Median over the samples, as the board's counter measured them (instructions under QEMU). */
  instructions: number;
  accuracy: number | null;
}

/** Builds `graph` for the board (no samples built in) and runs `samples` on it in QEMU. */
export async function measureVariant(name: string, graph: Graph, board: string, samples: TensorData[][], accuracy: number | null): Promise<Variant> {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-variant-'));
  try {
    const { report } = await buildForBoard(graph, board, dir);
    const { cycles } = await runOnTarget(graph, 'qemu', samples, { board });
    const sorted = [...(cycles ?? [])].sort((a, b) => a - b);
    return {
      name,
      macs: report.macs,
      weightBytes: report.flash.weights,
      flashBytes: report.flash.total,
      arenaBytes: report.ram.arena,
      instructions: sorted[sorted.length >> 1] ?? 0,
      accuracy,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table as text: every figure, and each one's ratio to the first variant's. */
export function variantTable(variants: Variant[]): string {
  const base = variants[0];
  const cell = (x: number, of: number) => `${thousands(x)} (${(x / of).toFixed(2)}x)`;
  const rows = variants.map((v) => [
    v.name,
    cell(v.macs, base.macs),
    cell(v.weightBytes, base.weightBytes),
    cell(v.flashBytes, base.flashBytes),
    cell(v.arenaBytes, base.arenaBytes),
    cell(v.instructions, base.instructions),
    v.accuracy === null ? '—' : `${(100 * v.accuracy).toFixed(2)}%`,
  ]);
  return formatTable(['variant', 'MACs', 'weight bytes', 'flash bytes', 'arena bytes', 'instructions', 'accuracy'], rows, new Set([1, 2, 3, 4, 5, 6]));
}
