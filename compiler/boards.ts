// `edgec boards`: the boards of boards/, as a table or JSON.

import { listBoards, loadBoard, type Board } from '../src/toolchain/index.ts';
import { formatTable, thousands } from './table.ts';

const kib = (bytes: number) => `${thousands(bytes / 1024)} KiB`;

export function boardsJson(): Board[] {
  return listBoards().map((name) => loadBoard(name));
}

export function boardsText(): string {
  const rows = boardsJson().map((b) => [
    b.name,
    b.cpu,
    b.fpu,
    `${b.clockHz / 1e6} MHz`,
    kib(b.flash.size),
    kib(b.ram.size),
    b.qemu ? b.qemu.machine : 'none (build only)',
    b.flashMethod,
  ]);
  return [
    formatTable(['board', 'CPU', 'FPU', 'clock', 'flash', 'RAM', 'QEMU machine', 'edgec flash'], rows, new Set([3, 4, 5])),
    '',
    'edgec build <model> --board <board> -o <dir>; edgec run --target qemu needs a QEMU machine.',
  ].join('\n');
}
