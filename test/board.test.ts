// Builds a probe firmware for every board and runs it under QEMU: console output and input
// (binary-clean), the exit code, the cycle counter's linearity and determinism, the fault
// report, the no-heap guard, and stopping a hung board. Also the descriptor fields the ROM
// bootloader flasher reads: product id and flash sectors.

import test from 'ava';
import { missingTool } from './helpers/tools.ts';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFlashable } from '../src/device/an3155/index.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Board, Firmware } from '../src/toolchain/index.ts';
import {
  BOARD_EXIT_FAULT,
  boardsDir,
  buildFirmware,
  coveredSectors,
  listBoards,
  loadBoard,
  runQemu,
  startQemu,
} from '../src/toolchain/index.ts';

// The host sends: mode, exit code, echo length (16-bit little-endian), echo bytes.
// Mode 'r' (run): echo, time spin loops of several lengths, print the counts, exit.
// Mode 'f': execute an undefined instruction. 'p': call printf. 'h': never exit.
const PROBE_C = String.raw`
#include <stdint.h>
#include <stdio.h>
#include "board.h"

static void spin(uint32_t n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

static void put(const char *s) {
    unsigned n = 0;
    while (s[n]) n++;
    board_uart_write(s, n);
}

int main(void) {
    board_init();
    put("ready\n");
    int mode = board_uart_read_byte();
    int code = board_uart_read_byte();
    unsigned len = (unsigned)board_uart_read_byte();
    len |= (unsigned)board_uart_read_byte() << 8;
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = (uint8_t)board_uart_read_byte();
        board_uart_write(&b, 1);
    }
    if (mode == 'f') __asm__ volatile("udf #0");
    if (mode == 'p') printf("stdio\n");
    if (mode == 'h') for (;;) {}
    static const uint32_t lengths[] = {1000, 2000, 4000, 8000};
    char line[64];
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        uint32_t start = board_cycles();
        spin(lengths[i]);
        uint32_t cycles = board_cycles() - start;
        snprintf(line, sizeof line, "spin %lu %lu\n", (unsigned long)lengths[i], (unsigned long)cycles);
        put(line);
    }
    snprintf(line, sizeof line, "source %s\n", board_cycles_source());
    put(line);
    return code;
}
`;

const BANNER = 'ready\n';
const INSTRUCTIONS_PER_SPIN = 2;

// Resolution of each fallback counter under QEMU 7.2 -icount shift=0, in instructions: TIM2
// advances once per instruction; the AN386's 25 MHz TIMER0 once per 40 (and where in a tick
// a measurement starts depends on when the host's input arrived).
const TICK_INSTRUCTIONS: Record<string, number> = { tim2: 0, timer0: 40 };

function parseSpins(report: string): { n: number; cycles: number }[] {
  return [...report.matchAll(/^spin (\d+) (\d+)$/gm)].map((m) => ({ n: Number(m[1]), cycles: Number(m[2]) }));
}

function input(mode: string, code: number, echo: Uint8Array): Uint8Array {
  return new Uint8Array([mode.charCodeAt(0), code, echo.length & 0xff, echo.length >> 8, ...echo]);
}

interface Probe {
  board: Board;
  firmware: Firmware;
}

const KIB = 1024;

test('stm32f4: product id 0x413 and the F405 sectors (4 x 16, 1 x 64, 7 x 128 KiB) over the whole flash', (t) => {
  const board = loadBoard('stm32f4');
  t.is(board.productId, 0x413);
  const sectors = board.flashSectors ?? [];
  t.deepEqual(
    sectors.map((s) => s.size / KIB),
    [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128],
  );
  sectors.forEach((s, i) => t.is(s.origin, i === 0 ? board.flash.origin : sectors[i - 1].origin + sectors[i - 1].size));
  t.is(sectors.at(-1)!.origin + sectors.at(-1)!.size, board.flash.origin + board.flash.size);
  t.deepEqual(coveredSectors(sectors, 0x08000000, 27 * KIB), [0, 1]);
  t.deepEqual(coveredSectors(sectors, 0x0800c000, 16 * KIB + 1), [3, 4]);
  t.deepEqual(coveredSectors(sectors, 0x080fffff, 1), [11]);
});

test("mps2-an386 has flashMethod 'none' and no bootloader fields: edgec flash refuses it", (t) => {
  const board = loadBoard('mps2-an386');
  t.is(board.flashMethod, 'none');
  t.is(board.productId, undefined);
  t.is(board.flashSectors, undefined);
  const error = t.throws(() => checkFlashable(board), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /^board mps2-an386 has flashMethod 'none' in its board\.json: edgec flash only programs boards through the STM32 ROM bootloader/);
  t.like(checkFlashable(loadBoard('stm32f4')), { productId: 0x413 });
});

test('a board flashed by the ROM bootloader needs a 16-bit product id and sectors that cover its flash', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-board-fields-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stm32 = JSON.parse(readFileSync(join(boardsDir(), 'stm32f4', 'board.json'), 'utf8'));
  // The board's family folder comes along: a board folder needs it beside its own.
  cpSync(join(boardsDir(), stm32.family), join(dir, stm32.family), { recursive: true });
  const write = (name: string, fields: Record<string, unknown>) => {
    cpSync(join(boardsDir(), 'stm32f4'), join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'board.json'), JSON.stringify({ ...stm32, name, ...fields }));
  };
  write('bare', { productId: undefined, flashSectors: undefined });
  write('wrong', { productId: '0x12345', flashSectors: [{ count: 4, size: '0x4000' }, { count: 0, size: '0x10000' }] });
  write('nonsense', { flashSectors: 'all of it' });
  write('none', { flashMethod: 'none', productId: undefined, flashSectors: undefined });

  t.deepEqual(t.throws(() => loadBoard('bare', dir), { instanceOf: EdgecError })?.details, [
    "productId: required on a board with flashMethod 'stm32-rom-bootloader'",
    "flashSectors: required on a board with flashMethod 'stm32-rom-bootloader'",
  ]);
  t.deepEqual(t.throws(() => loadBoard('wrong', dir), { instanceOf: EdgecError })?.details, [
    'productId: a product id has 16 bits, got 0x12345',
    'flashSectors.1.count: must be positive, got 0',
    'flashSectors: the sectors cover 131072 bytes, the flash has 1048576',
  ]);
  t.deepEqual(t.throws(() => loadBoard('nonsense', dir), { instanceOf: EdgecError })?.details, ['flashSectors: expected a list of { "count", "size" } groups, got "all of it"']);
  t.like(loadBoard('none', dir), { flashMethod: 'none', productId: undefined, flashSectors: undefined });
});

const missing = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missing !== null) {
  test.skip(`boards under QEMU (skipped: ${missing})`, () => {});
} else {
  const workDir = mkdtempSync(join(tmpdir(), 'edgec-board-test-'));
  test.after.always(() => rmSync(workDir, { recursive: true, force: true }));
  const probeSource = join(workDir, 'probe.c');
  writeFileSync(probeSource, PROBE_C);

  const builds = new Map<string, Promise<Probe>>();
  const probe = (name: string): Promise<Probe> => {
    let build = builds.get(name);
    if (build === undefined) {
      const board = loadBoard(name);
      build = buildFirmware({ board, sources: [probeSource], outDir: join(workDir, name), name: 'probe' }).then(
        (firmware) => ({ board, firmware }),
      );
      builds.set(name, build);
    }
    return build;
  };
  const run = async (name: string, stdin: Uint8Array) => {
    const { board, firmware } = await probe(name);
    return runQemu({ board, elf: firmware.elf, stdin, sendAfter: BANNER, timeoutMs: 10_000 });
  };

  // The boards QEMU has a machine for; test/boards-build-only.test.ts covers the others.
  for (const name of listBoards().filter((b) => loadBoard(b).qemu !== null)) {
    test.serial(`${name}: firmware builds with its size and stack use reported`, async (t) => {
      const { board, firmware } = await probe(name);
      t.true(firmware.size.text > 0 && firmware.size.flash <= board.flash.size);
      t.true(firmware.size.ram <= board.ram.size);
      t.true(firmware.stack.some((f) => f.function === 'main'));
    });

    test.serial(`${name}: echoes every byte value, exits with the chosen code, counts linearly`, async (t) => {
      const echo = Uint8Array.from({ length: 256 }, (_, i) => i);
      const result = await run(name, input('r', 42, echo));
      t.is(result.exitCode, 42);
      const out = Buffer.from(result.stdout);
      t.is(out.subarray(0, BANNER.length).toString('latin1'), BANNER);
      t.deepEqual(new Uint8Array(out.subarray(BANNER.length, BANNER.length + echo.length)), echo);

      const report = out.subarray(BANNER.length + echo.length).toString('latin1');
      const spins = parseSpins(report);
      t.is(spins.length, 4, report);
      t.log(`${name}: ${report.trim().replace(/\n/g, '; ')}`);
      const source = /^source (\S+)$/m.exec(report)?.[1] ?? '';
      t.true(source in TICK_INSTRUCTIONS, `unexpected cycle source '${source}'`);
      const tick = TICK_INSTRUCTIONS[source];
      // Each longer loop adds 2 instructions per added iteration, give or take one tick at
      // each end of the measurement.
      for (let i = 1; i < spins.length; i++) {
        const added = spins[i].cycles - spins[i - 1].cycles;
        const expected = (spins[i].n - spins[i - 1].n) * INSTRUCTIONS_PER_SPIN;
        t.true(Math.abs(added - expected) <= 2 * tick, `${spins[i].n} iterations: ${added} vs ${expected}`);
      }

      const again = await run(name, input('r', 42, echo));
      t.is(again.exitCode, 42);
      const againReport = Buffer.from(again.stdout).subarray(BANNER.length + echo.length).toString('latin1');
      const againSpins = parseSpins(againReport);
      t.is(againSpins.length, spins.length, againReport);
      for (const [i, s] of againSpins.entries()) {
        const first = spins[i].cycles;
        t.true(Math.abs(s.cycles - first) <= tick, `second run, ${s.n} iterations: ${s.cycles} vs ${first}`);
      }
    });

    test.serial(`${name}: a fault is reported on the console and ends the run with BOARD_EXIT_FAULT`, async (t) => {
      const result = await run(name, input('f', 0, new Uint8Array()));
      t.is(result.exitCode, BOARD_EXIT_FAULT);
      t.regex(Buffer.from(result.stdout).toString('latin1'), /board: fault: exception 0x00000003 pc 0x[0-9a-f]{8}/);
    });

    test.serial(`${name}: stdio, which needs a heap, fails loudly instead of corrupting memory`, async (t) => {
      const result = await run(name, input('p', 0, new Uint8Array()));
      t.is(result.exitCode, BOARD_EXIT_FAULT);
      t.regex(Buffer.from(result.stdout).toString('latin1'), /board: no heap/);
    });

    test.serial(`${name}: a hung board is stopped at the timeout, reported, and QEMU is gone`, async (t) => {
      const { board, firmware } = await probe(name);
      const started = Date.now();
      // Long enough for QEMU to boot and print on a busy machine; the hang is what must end it.
      const session = startQemu({ board, elf: firmware.elf, timeoutMs: 4000 });
      session.output.once('data', () => session.write(input('h', 0, new Uint8Array([7]))));
      const error = await t.throwsAsync(session.exited, { instanceOf: EdgecError });
      t.is(error?.kind, 'tool');
      t.regex(error?.message ?? '', /did not exit within 4000 ms: the board hung/);
      t.true(error?.details.some((d) => d.includes('ready\\n\\u0007')), error?.details.join('\n'));
      t.true(Date.now() - started < 12000);
      t.throws(() => process.kill(session.pid, 0), { code: 'ESRCH' });
    });

    test.serial(`${name}: stop() ends a running firmware`, async (t) => {
      const { board, firmware } = await probe(name);
      const session = startQemu({ board, elf: firmware.elf });
      await new Promise((resolve) => session.output.once('data', resolve));
      await session.stop();
      t.is((await session.exited).exitCode, null);
      t.throws(() => process.kill(session.pid, 0), { code: 'ESRCH' });
    });
  }
}
