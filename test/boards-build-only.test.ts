// The boards QEMU has no machine for (STM32F767 on a NUCLEO, nRF52840 DK): a model links for
// each, its vector table sits at the start of flash with the board's interrupt count, its data
// (the arena) in the RAM the board declares, and running it in QEMU is refused with the reason.

import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/import/index.ts';
import { buildForBoard } from '../src/targets/build.ts';
import { findTool, loadBoard, runTool, type Board } from '../src/toolchain/index.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const MODEL = new URL('../../shared/oracles/hello_world_int8/model.tflite', import.meta.url).pathname;
const INPUT = new URL('../../shared/oracles/hello_world_int8/input.npy', import.meta.url).pathname;

/** Device interrupts per board, from each part's reference manual (its vector table). */
const BUILD_ONLY: Record<string, { irqs: number }> = {
  'nucleo-f767zi': { irqs: 110 },
  'nrf52840-dk': { irqs: 48 },
};

const workDir = mkdtempSync(join(tmpdir(), 'edgec-build-only-test-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

const within = (address: number, region: { origin: number; size: number }) => address >= region.origin && address < region.origin + region.size;

/** Symbol name -> [address, size] from the ELF's symbol table (arm-none-eabi-objdump -t). */
async function symbols(elf: string): Promise<Map<string, [number, number]>> {
  const { stdout } = await runTool(findTool('arm-none-eabi-objdump'), ['-t', elf], 'listing symbols');
  const table = new Map<string, [number, number]>();
  for (const m of stdout.matchAll(/^([0-9a-f]{8}) .{7} \S+\s+([0-9a-f]{8}) (\S+)$/gm)) {
    table.set(m[3], [Number.parseInt(m[1], 16), Number.parseInt(m[2], 16)]);
  }
  return table;
}

test('the build-only boards load without a QEMU machine, with their memory maps', (t) => {
  t.like(loadBoard('nucleo-f767zi'), {
    cpu: 'cortex-m7',
    fpu: 'fpv5-d16',
    flash: { origin: 0x08000000, size: 2 * 1024 * 1024 },
    ram: { origin: 0x20000000, size: 512 * 1024 },
    clockHz: 216_000_000,
    console: { uart: 'USART3', tx: 'PD8', rx: 'PD9', baud: 115200 },
    qemu: null,
  });
  // The RAM region is the F7's DTCM, SRAM1 and SRAM2 end to end: it starts with DTCM.
  const f7 = loadBoard('nucleo-f767zi');
  const banks = f7.memories!.filter((m) => m.name !== 'ITCM-RAM');
  t.deepEqual(banks.map((m) => m.name), ['DTCM', 'SRAM1', 'SRAM2']);
  banks.forEach((m, i) => t.is(m.origin, i === 0 ? f7.ram.origin : banks[i - 1].origin + banks[i - 1].size));
  t.is(banks.reduce((s, m) => s + m.size, 0), f7.ram.size);
  t.like(loadBoard('nrf52840-dk'), {
    cpu: 'cortex-m4',
    fpu: 'fpv4-sp-d16',
    flash: { origin: 0, size: 1024 * 1024 },
    ram: { origin: 0x20000000, size: 256 * 1024 },
    clockHz: 64_000_000,
    console: { uart: 'UART0', tx: 'P0.06', rx: 'P0.08' },
    qemu: null,
  });
});

for (const name of Object.keys(BUILD_ONLY)) {
  test(`edgec run --target qemu on ${name} says QEMU has no such machine (exit 2) without building`, async (t) => {
    const result = await runEdgec('run', MODEL, '--input', INPUT, '--target', 'qemu', '--board', name);
    t.is(result.code, 2, result.stderr);
    t.is(result.stdout, '');
    t.regex(result.stderr, new RegExp(`board ${name} has no QEMU machine .*build only`));
  });
}

const missing = missingTool('arm-none-eabi-gcc');
if (missing !== null) {
  test.skip(`linking a model for the build-only boards (skipped: ${missing})`, () => {});
} else {
  for (const [name, { irqs }] of Object.entries(BUILD_ONLY)) {
    test(`${name}: a model links, fits its memory map, vectors at the start of flash, data in RAM`, async (t) => {
      const board: Board = loadBoard(name);
      const graph = await loadModel(MODEL);
      const { report, firmware } = await buildForBoard(graph, name, join(workDir, name));
      t.is(report.board, name);
      t.true(report.flash.total <= board.flash.size && report.ram.total <= board.ram.size);

      const { stdout } = await runTool(findTool('arm-none-eabi-size'), ['-A', firmware.elf], 'listing sections');
      const sections = new Map([...stdout.matchAll(/^(\.\S+)\s+(\d+)\s+(\d+)$/gm)].map((m) => [m[1], { size: Number(m[2]), address: Number(m[3]) }]));
      // 16 core vectors and the part's device interrupts, at the flash origin the core boots from.
      t.deepEqual(sections.get('.isr_vector'), { size: 4 * (16 + irqs), address: board.flash.origin });
      t.true(within(sections.get('.text')!.address, board.flash));
      t.true(within(sections.get('.bss')!.address, board.ram));

      const nm = await symbols(firmware.elf);
      t.is(nm.get('board_core_vectors')?.[0], board.flash.origin);
      t.true(within(nm.get('Reset_Handler')![0], board.flash));
      t.is(nm.get('_estack')?.[0], board.ram.origin + board.ram.size);
      const arena = nm.get(`${report.model}_arena`);
      t.truthy(arena, 'the arena symbol');
      // On the F7 the arena lands in DTCM: zero wait states and never cached.
      const fastest = board.memories?.find((m) => m.name === 'DTCM') ?? board.ram;
      t.true(within(arena![0], fastest) && within(arena![0] + arena![1] - 1, fastest));
    });
  }
}

(missingTool('arm-none-eabi-gcc') ? test.skip : test)('a build over an earlier one drops board files the board no longer has', async (t) => {
  const graph = await loadModel(MODEL);
  const dir = join(workDir, 'rebuilt');
  await buildForBoard(graph, 'stm32f4', dir);
  // A board file from an older layout that defines what the board's own files define now.
  const stale = join(dir, 'board', 'stm32f4', 'old_timer.c');
  writeFileSync(stale, 'int board_port_timer_name;\n');
  const { firmware } = await buildForBoard(graph, 'stm32f4', dir);
  t.false(existsSync(stale));
  t.true(existsSync(firmware.elf));
});
