// The toolchain wrapper without running firmware: finding tools, reading board descriptors,
// compiler flags, tool output parsing, and the errors a user sees when something is wrong.

import test from 'ava';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { EdgecError } from '../src/ir/errors.ts';
import {
  armGccFlags,
  BOARD_EXIT_FAULT,
  boardLinkerScript,
  boardsDir,
  boardSources,
  buildFirmware,
  MIN_STACK_BYTES,
  findTool,
  linkerRegions,
  listBoards,
  loadBoard,
  parseSizeOutput,
  parseStackUsage,
  qemuArgs,
  runQemu,
} from '../src/toolchain/index.ts';
import { missingTool, testWhere } from './helpers/tools.ts';

const workDir = mkdtempSync(join(tmpdir(), 'edgec-toolchain-test-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

function scratch(name: string): string {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function fakeTool(dir: string, name: string, executable = true): string {
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, executable ? 0o755 : 0o644);
  return path;
}

test('findTool returns the first executable on the search path', (t) => {
  const first = scratch('path-a');
  const second = scratch('path-b');
  fakeTool(first, 'qemu-system-arm', false);
  const wanted = fakeTool(second, 'qemu-system-arm');
  t.is(findTool('qemu-system-arm', `${first}:${second}`), wanted);
});

test('findTool falls back to other host compilers', (t) => {
  const dir = scratch('path-clang');
  const clang = fakeTool(dir, 'clang');
  t.is(findTool('cc', dir), clang);
});

test('a missing tool is a tool error naming the Debian package', (t) => {
  const empty = scratch('path-empty');
  const gcc = t.throws(() => findTool('arm-none-eabi-gcc', empty), { instanceOf: EdgecError });
  t.is(gcc?.kind, 'tool');
  t.regex(gcc?.message ?? '', /arm-none-eabi-gcc not found.*apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi/);
  const qemu = t.throws(() => findTool('qemu-system-arm', empty), { instanceOf: EdgecError });
  t.regex(qemu?.message ?? '', /apt-get install qemu-system-arm/);
});

test('emcc is looked for where Debian installs it, with the package to install otherwise', (t) => {
  const empty = scratch('path-empty-emcc');
  if (existsSync('/usr/bin/emcc')) {
    t.is(findTool('emcc', empty), '/usr/bin/emcc');
  } else {
    const error = t.throws(() => findTool('emcc', empty), { instanceOf: EdgecError });
    t.regex(error?.message ?? '', /emcc not found.*apt-get install emscripten/);
  }
});

test('the repository boards load with their memory maps and QEMU machines', (t) => {
  t.deepEqual(listBoards(), ['mps2-an386', 'mps2-an500', 'nrf52840-dk', 'nucleo-f767zi', 'stm32f4']);
  const stm32 = loadBoard('stm32f4');
  t.like(stm32, {
    cpu: 'cortex-m4',
    fpu: 'fpv4-sp-d16',
    floatAbi: 'hard',
    flash: { origin: 0x08000000, size: 1024 * 1024 },
    ram: { origin: 0x20000000, size: 128 * 1024 },
    flashMethod: 'stm32-rom-bootloader',
    qemu: { machine: 'netduinoplus2', extraArgs: [] },
    console: { uart: 'USART1', tx: 'PA9', rx: 'PA10', baud: 115200 },
  });
  t.like(loadBoard('mps2-an386'), {
    flash: { origin: 0, size: 4 * 1024 * 1024 },
    ram: { origin: 0x20000000, size: 4 * 1024 * 1024 },
    flashMethod: 'none',
    qemu: { machine: 'mps2-an386' },
  });
  // The AN500 image is the AN386's peripherals and memory map around a Cortex-M7: one family folder.
  const m7 = loadBoard('mps2-an500');
  t.like(m7, { cpu: 'cortex-m7', fpu: 'fpv5-d16', qemu: { machine: 'mps2-an500' }, flash: { origin: 0, size: 4 * 1024 * 1024 } });
  t.is(m7.familyDir, loadBoard('mps2-an386').familyDir);
  t.deepEqual(
    boardSources(m7).map((f) => relative(boardsDir(), f)).filter((f) => !f.startsWith('common/')),
    ['mps2/clock.c', 'mps2/timer.c', 'mps2/uart.c'],
  );
  t.is(relative(boardsDir(), boardLinkerScript(m7)), 'mps2/linker.ld');
  // The STM32F4 and F7 boards share their RCC, TIM2 and bounded waits; each keeps its own linker.ld.
  const f7 = loadBoard('nucleo-f767zi');
  t.is(loadBoard('stm32f4').familyDir, f7.familyDir);
  t.deepEqual(
    boardSources(f7).map((f) => relative(boardsDir(), f)).filter((f) => !f.startsWith('common/')),
    ['stm32/timer.c', 'stm32/wait.c', 'nucleo-f767zi/clock.c', 'nucleo-f767zi/uart.c'],
  );
  t.is(relative(boardsDir(), boardLinkerScript(f7)), 'nucleo-f767zi/linker.ld');
});

test('each linker script uses the memory map its board.json declares', (t) => {
  for (const name of listBoards()) {
    const board = loadBoard(name);
    t.deepEqual(linkerRegions(readFileSync(boardLinkerScript(board), 'utf8')), { FLASH: board.flash, RAM: board.ram }, name);
  }
});

test('an unknown board is a usage error listing the known boards', (t) => {
  const error = t.throws(() => loadBoard('stm32f9'), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.is(error?.message, "unknown board 'stm32f9': known boards are mps2-an386, mps2-an500, nrf52840-dk, nucleo-f767zi, stm32f4");
});

test('every problem in a board descriptor is reported with its field', (t) => {
  const dir = scratch('bad-boards');
  mkdirSync(join(dir, 'custom'), { recursive: true });
  writeFileSync(
    join(dir, 'custom', 'board.json'),
    JSON.stringify({
      name: 'custom',
      description: 'a board with mistakes',
      cpu: 'cortex-m9',
      fpu: 'none',
      floatAbi: 'hard',
      flash: { origin: '0x0800zzzz', size: '0x100000' },
      ram: { origin: '0x20000000', size: 0 },
      console: { uart: 'USART1', baud: 115200 },
      flashMethod: 'none',
      family: 'nowhere',
      qemu: null,
    }),
  );
  const error = t.throws(() => loadBoard('custom', dir), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /invalid board descriptor .*custom.board\.json/);
  t.deepEqual(error?.details, [
    'cpu: expected one of cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33, got "cortex-m9"',
    'flash.origin: expected a non-negative integer or "0x..." string, got "0x0800zzzz"',
    'ram.size: must be positive, got 0',
    'clockHz: expected a non-negative integer or "0x..." string, got undefined',
    "family: 'nowhere' names no shared folder beside the board's (a folder without a board.json)",
    "no board_config.h in the board's folder or its family folder (it defines BOARD_IRQ_COUNT, the number of device interrupts)",
    "no linker.ld in the board's folder or its family folder",
    'no .c file in the board\'s folder or its family folder defines board_port_clock_init, board_port_uart_init, board_uart_write, board_uart_read_byte, board_port_timer_start, board_port_timer_read, board_port_timer_name (see boards/common/cortex_m.h)',
    "floatAbi: 'hard' needs an fpu",
  ]);
});

test('a descriptor that is not JSON is reported with its file', (t) => {
  const dir = scratch('json-boards');
  mkdirSync(join(dir, 'broken'), { recursive: true });
  writeFileSync(join(dir, 'broken', 'board.json'), '{ "name": "broken", ');
  const error = t.throws(() => loadBoard('broken', dir), { instanceOf: EdgecError });
  t.regex(error?.message ?? '', /broken.board\.json is not valid JSON/);
});

test('armGccFlags follows the board: CPU, FPU, float ABI, sections, specs, linker script', (t) => {
  const board = loadBoard('stm32f4');
  const flags = armGccFlags(board);
  for (const flag of [
    '-mcpu=cortex-m4',
    '-mthumb',
    '-mfpu=fpv4-sp-d16',
    '-mfloat-abi=hard',
    '-O2',
    '-ffunction-sections',
    '-fdata-sections',
    '-Wl,--gc-sections',
    '-fstack-usage',
    '-nostartfiles',
    '--specs=nano.specs',
    `-T${join(board.dir, 'linker.ld')}`,
  ]) {
    t.true(flags.includes(flag), flag);
  }
  const soft = armGccFlags({ ...board, cpu: 'cortex-m0plus', fpu: 'none', floatAbi: 'soft' });
  t.true(soft.includes('-mcpu=cortex-m0plus'));
  t.true(soft.includes('-mfloat-abi=soft'));
  t.false(soft.some((f) => f.startsWith('-mfpu')));
});

test('qemuArgs: deterministic instruction counting, semihosting, console on stdio', (t) => {
  const args = qemuArgs(loadBoard('stm32f4'), 'fw.elf').join(' ');
  t.regex(args, /^-M netduinoplus2 /);
  t.regex(args, /-icount shift=0,align=off,sleep=off/);
  t.regex(args, /-semihosting-config enable=on,target=native/);
  t.regex(args, /-serial stdio/);
  t.regex(args, /-kernel fw\.elf$/);
});

test('parseSizeOutput reads text, data and bss and derives flash and RAM use', (t) => {
  const output = '   text\t   data\t    bss\t    dec\t    hex\tfilename\n   9568\t    104\t     40\t   9712\t   25f0\tfw.elf\n';
  t.deepEqual(parseSizeOutput(output), { text: 9568, data: 104, bss: 40, flash: 9672, ram: 144 });
  const error = t.throws(() => parseSizeOutput('no numbers here'), { instanceOf: EdgecError });
  t.is(error?.kind, 'tool');
});

test('parseStackUsage reads each function, its frame and whether it is bounded', (t) => {
  const su = 'model.c:12:6:ec_conv2d_s8\t48\tstatic\nmodel.c:40:5:main\t16\tdynamic,bounded\nx.c:3:1:f\t8\tdynamic\n';
  t.deepEqual(parseStackUsage(su), [
    { function: 'ec_conv2d_s8', location: 'model.c:12', bytes: 48, kind: 'static' },
    { function: 'main', location: 'model.c:40', bytes: 16, kind: 'bounded' },
    { function: 'f', location: 'x.c:3', bytes: 8, kind: 'dynamic' },
  ]);
});

test('BOARD_EXIT_FAULT and MIN_STACK_BYTES match the C header and the linker script', (t) => {
  const header = readFileSync(join(boardsDir(), 'board.h'), 'utf8');
  t.is(Number(/#define BOARD_EXIT_FAULT (\d+)/.exec(header)?.[1]), BOARD_EXIT_FAULT);
  const sections = readFileSync(join(boardsDir(), 'common', 'cortex_m_sections.ld'), 'utf8');
  t.is(Number(/__stack_min_size = (\d+)K;/.exec(sections)?.[1]) * 1024, MIN_STACK_BYTES);
});

test('buildFirmware rejects missing sources and bad names before running anything', async (t) => {
  const error = await t.throwsAsync(
    buildFirmware({
      board: loadBoard('stm32f4'),
      sources: [join(workDir, 'nope.c')],
      defines: { 'NOT VALID': 1 },
      outDir: scratch('build-usage'),
      name: '../fw',
    }),
    { instanceOf: EdgecError },
  );
  t.is(error?.kind, 'usage');
  t.is(error?.details.length, 3);
  t.regex(error?.details.join('\n') ?? '', /name '..\/fw'.*\n.*source file not found.*nope\.c\n.*'NOT VALID' is not a C identifier/);
});

test('runQemu refuses a board without a QEMU machine and a missing ELF', async (t) => {
  const board = loadBoard('stm32f4');
  const noQemu = await t.throwsAsync(runQemu({ board: { ...board, qemu: null }, elf: 'x.elf', timeoutMs: 1000 }));
  t.regex(noQemu?.message ?? '', /board stm32f4 has no QEMU machine/);
  const noElf = await t.throwsAsync(runQemu({ board, elf: join(workDir, 'missing.elf'), timeoutMs: 1000 }));
  t.regex(noElf?.message ?? '', /firmware not found: .*missing\.elf/);
});

const noGcc = missingTool('arm-none-eabi-gcc');
if (noGcc === null) {
  test.serial('a compile error is a tool error carrying the compiler diagnostics', async (t) => {
    const dir = scratch('build-error');
    const source = join(dir, 'broken.c');
    writeFileSync(source, 'int main(void) { return undefined_name; }\n');
    const error = await t.throwsAsync(
      buildFirmware({ board: loadBoard('stm32f4'), sources: [source], outDir: dir, name: 'broken' }),
      { instanceOf: EdgecError },
    );
    t.is(error?.kind, 'tool');
    t.regex(error?.message ?? '', /arm-none-eabi-gcc failed compiling .*broken\.c/);
    t.true(error?.details.some((d) => /broken\.c:1:\d+: error: 'undefined_name' undeclared/.test(d)));
  });

  test.serial('a warning fails the build unless werror is off', async (t) => {
    const dir = scratch('build-warning');
    const source = join(dir, 'warn.c');
    writeFileSync(source, '#include "board.h"\nint main(void) { int unused; board_init(); return 0; }\n');
    const options = { board: loadBoard('mps2-an386'), sources: [source], outDir: dir, name: 'warn' };
    await t.throwsAsync(buildFirmware(options), { message: /failed compiling/ });
    const firmware = await buildFirmware({ ...options, werror: false });
    t.true(existsSync(firmware.elf) && existsSync(firmware.bin));
  });

  test.serial('firmware too large for the board is a model error naming board and region', async (t) => {
    const dir = scratch('build-overflow');
    const build = (name: string, arenaBytes: number) => {
      const source = join(dir, `${name}.c`);
      writeFileSync(
        source,
        `#include "board.h"\nstatic volatile unsigned char arena[${arenaBytes}];\n` +
          'int main(void) { board_init(); arena[1] = 1; return arena[1]; }\n',
      );
      return buildFirmware({ board: loadBoard('stm32f4'), sources: [source], outDir: dir, name });
    };
    const overflow = await t.throwsAsync(build('big', 200 * 1024), { instanceOf: EdgecError });
    t.is(overflow?.kind, 'model');
    t.regex(overflow?.message ?? '', /firmware 'big' does not fit stm32f4: RAM \(128 KiB\) overflowed by \d+ bytes/);
    const noStack = await t.throwsAsync(build('tight', 126 * 1024), { instanceOf: EdgecError });
    t.is(noStack?.kind, 'model');
    t.is(noStack?.message, `firmware 'tight' does not fit stm32f4: static RAM leaves less than ${MIN_STACK_BYTES} bytes for the stack`);
  });

  test.serial('a board descriptor copied elsewhere builds with its own folder', async (t) => {
    const dir = scratch('copied-boards');
    cpSync(boardsDir(), dir, { recursive: true });
    const source = join(dir, 'main.c');
    writeFileSync(source, '#include "board.h"\nint main(void) { board_init(); return 3; }\n');
    const firmware = await buildFirmware({
      board: loadBoard('stm32f4', dir),
      sources: [source],
      defines: { EXTRA: true, LEVEL: 2 },
      outDir: join(dir, 'out'),
      name: 'copy',
    });
    t.true(firmware.size.flash > 0);
    t.is(readFileSync(firmware.bin).readUInt32LE(0), 0x20000000 + 128 * 1024, 'initial stack pointer at top of RAM');
  });

} else {
  test.skip(`builds (skipped: ${noGcc})`, () => {});
}

testWhere([missingTool('qemu-system-arm')], 'a QEMU that cannot start is a tool error with its message', async (t) => {
  const board = loadBoard('stm32f4');
  const dir = scratch('qemu-fail');
  const elf = join(dir, 'any.elf');
  writeFileSync(elf, '');
  const error = await t.throwsAsync(
    runQemu({ board: { ...board, qemu: { machine: 'netduinoplus2', extraArgs: ['-no-such-option'] } }, elf, timeoutMs: 5000 }),
    { instanceOf: EdgecError },
  );
  t.is(error?.kind, 'tool');
  t.regex(error?.message ?? '', /QEMU could not run any\.elf on QEMU netduinoplus2/);
  t.true(error?.details.some((d) => d.includes('-no-such-option')));
});
