// `edgec build`: the report printed after a firmware build.

import type { BuildReport } from '../src/targets/build.ts';
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
  const peak = r.ops.reduce((a, b) => (b.liveBytes > a.liveBytes ? b : a), r.ops[0]);
  return [
    `built ${r.model} for ${r.board} (${r.cpu}, ${r.clockHz / 1e6} MHz): ${r.ops.length} ops, ${thousands(r.macs)} MACs per inference`,
    '',
    formatTable(['memory', 'part', 'bytes', 'use'], rows, new Set([2])),
    ...(peak ? [`largest live set: ${thousands(peak.liveBytes)} bytes while op ${peak.index} (${peak.kind}) runs; per-op figures in report.json`] : []),
    '',
    `firmware: ${r.files.elf}`,
    `          ${r.files.bin}`,
    `sources, Makefile and report.json in ${outDir}`,
  ].join('\n');
}
