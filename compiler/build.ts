// `edgec build`: the report printed after a firmware build.

import type { BuildReport, LibraryReport } from '../src/targets/build.ts';
import { formatTable, thousands } from './table.ts';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;

export function buildReportText(r: BuildReport, outDir: string): string {
  const rows = [
    ['flash', 'code', thousands(r.flash.code), ''],
    ['', 'weights and constants', thousands(r.flash.weights), ''],
    ...(r.flash.testData ? [['', 'built-in test samples', thousands(r.flash.testData), '']] : []),
    ['', 'total', thousands(r.flash.total), `${pct(r.flash.total, r.flash.capacity)} of ${kib(r.flash.capacity)}`],
    ['RAM', `activation arena (${r.arenaStrategy})`, thousands(r.ram.arena), ''],
    ...(r.ram.state > 0 ? [['', 'recurrent state (outside the arena)', thousands(r.ram.state), '']] : []),
    ['', 'stack (deepest call chain)', thousands(r.ram.stack), ''],
    ['', 'other static data', thousands(r.ram.other), ''],
    ['', 'total', thousands(r.ram.total), `${pct(r.ram.total, r.ram.capacity)} of ${kib(r.ram.capacity)}`],
  ];
  const bound = r.arenaBound;
  const parts = bound.buffers.map((b) => `${b.role} ${b.shape ? `[${b.shape.join(',')}] ` : ''}${thousands(b.bytes)} B at ${thousands(b.offset)}`);
  return [
    `built ${r.model} for ${r.board} (${r.cpu}, ${r.clockHz / 1e6} MHz): ${r.ops.length} ops, ${thousands(r.macs)} MACs per inference`,
    '',
    formatTable(['memory', 'part', 'bytes', 'use'], rows, new Set([2])),
    ...(bound.op >= 0 ? [`the arena is bounded by op ${bound.op} (${bound.kind}, ${bound.kernel}): ${parts.join(', ')}; per-op figures in report.json`] : []),
    '',
    `firmware: ${r.files.elf}`,
    `          ${r.files.bin}`,
    `sources, Makefile and report.json in ${outDir}`,
  ].join('\n');
}

export function libraryReportText(r: LibraryReport, outDir: string): string {
  const arena = r.arena.external ? 'defined by your code' : r.arena.section ? `in section ${r.arena.section}` : 'a static array of the model';
  return [
    `wrote ${r.model} for ${r.cpu} (${r.board}'s memory checked) as a library in ${outDir}: ${r.ops.length} ops, ${thousands(r.macs)} MACs per inference`,
    `  arena ${thousands(r.arena.bytes)} bytes, ${arena}; weights and constants ${thousands(r.weights)} bytes`,
    `  kernels: ${r.kernels.used.join(', ')} (${r.kernels.used.length} of ${r.kernels.available} runtime files)`,
    '  CMakeLists.txt (add_subdirectory), library.json (PlatformIO), library.properties + src/ (Arduino), edgec.mk (Make)',
  ].join('\n');
}
