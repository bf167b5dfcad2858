// edgec build --format library: a user's own CMake firmware project takes the folder with
// add_subdirectory(), links it and runs it in QEMU bit-exact with the reference; the same folder
// follows the PlatformIO and Arduino library layouts, carries only the kernels the model calls,
// and places the arena where the user says.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { loadModel } from '../src/import/index.ts';
import { dataBytes } from '../src/ir/dtype.ts';
import { readNpy } from '../src/npy/npy.ts';
import { executeGraph } from '../src/ref/execute.ts';
import { splitSamples } from '../src/samples.ts';
import { buildLibrary, type LibraryReport } from '../src/targets/build.ts';
import { armGccFlags, boardIncludeDirs, boardSources, findTool, loadBoard, runQemu } from '../src/toolchain/index.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const oracle = (name: string, file = 'model.tflite') => fileURLToPath(new URL(`../../shared/oracles/${name}/${file}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgec-library-'));

/** The fields and layout the Arduino IDE (1.5 library format) and PlatformIO require. */
function checkLayouts(t: import('ava').ExecutionContext, dir: string, prefix: string): void {
  const properties = Object.fromEntries(
    readFileSync(join(dir, 'library.properties'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  for (const field of ['name', 'version', 'author', 'maintainer', 'sentence', 'paragraph', 'category', 'url', 'architectures']) {
    t.truthy(properties[field], `library.properties: ${field}`);
  }
  t.regex(properties.name, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
  t.regex(properties.version, /^\d+\.\d+\.\d+$/);
  t.true(['Display', 'Communication', 'Signal Input/Output', 'Sensors', 'Device Control', 'Timing', 'Data Storage', 'Data Processing', 'Other'].includes(properties.category));
  t.is(properties.includes, `${prefix}.h`);
  // The 1.5 format compiles src/ only: every source and header is there, and nothing else compiles at the top.
  t.deepEqual(readdirSync(dir).filter((f) => /\.(c|h|cpp)$/.test(f)), []);
  const json = JSON.parse(readFileSync(join(dir, 'library.json'), 'utf8')) as { name: string; version: string; build: { srcDir: string; includeDir: string } };
  t.is(json.name, properties.name);
  t.is(json.version, properties.version);
  t.deepEqual([json.build.srcDir, json.build.includeDir], ['src', 'src']);
  const src = readdirSync(join(dir, 'src'));
  for (const file of src.filter((f) => f.endsWith('.c') || f.endsWith('.h'))) {
    for (const m of readFileSync(join(dir, 'src', file), 'utf8').matchAll(/^#include "([^"]+)"/gm)) t.true(src.includes(m[1]), `${file} includes ${m[1]}, not in src/`);
  }
  t.regex(readFileSync(join(dir, 'src', `${prefix}.h`), 'utf8'), /#ifdef __cplusplus\nextern "C" \{/);
}

test('the folder carries only the kernels the model calls, the glue of four build systems, and checks the arena flags', async (t) => {
  const graph = await loadModel(oracle('hello_world_int8'));
  const dir = join(work, 'hello');
  const { report } = await buildLibrary(graph, 'stm32f4', dir);
  t.deepEqual(report.kernels.used, ['ec_fully_connected_s8.c'], 'a stack of fully-connected layers needs one kernel file');
  t.true(report.kernels.available > 5);
  t.deepEqual(readdirSync(join(dir, 'src')).filter((f) => f.endsWith('.c')).sort(), ['ec_fully_connected_s8.c', 'hello_world_int8.c', 'hello_world_int8_weights.c']);
  checkLayouts(t, dir, 'hello_world_int8');
  const mk = readFileSync(join(dir, 'edgec.mk'), 'utf8');
  t.regex(mk, /HELLO_WORLD_INT8_SOURCES := \$\(HELLO_WORLD_INT8_DIR\)src\/hello_world_int8\.c/);
  t.false(/boards\//.test(readFileSync(join(dir, 'CMakeLists.txt'), 'utf8') + mk), "nothing refers to edgec's boards");

  const both = await runEdgec('build', oracle('hello_world_int8'), '--board', 'stm32f4', '--format', 'library', '--arena-section', '.x', '--arena-extern', '-o', join(work, 'x'));
  t.is(both.code, 2);
  t.regex(both.stderr, /--arena-extern leaves the arena to your code/);
  const firmware = await runEdgec('build', oracle('hello_world_int8'), '--board', 'stm32f4', '--arena-section', '.x', '-o', join(work, 'y'));
  t.is(firmware.code, 2);
  t.regex(firmware.stderr, /give --format library/);
  const hil = await runEdgec('build', oracle('hello_world_int8'), '--board', 'stm32f4', '--format', 'library', '--hil', '-o', join(work, 'z'));
  t.is(hil.code, 2);
  t.regex(hil.stderr, /--hil make a firmware; --format library makes none/);
  const bad = await runEdgec('build', oracle('hello_world_int8'), '--board', 'stm32f4', '--format', 'zip', '-o', join(work, 'w'));
  t.is(bad.code, 2);
});

/** The user's firmware: their main() around the model, on their board support (here edgec's stm32f4 files stand in). */
function userProject(dir: string, library: string, prefix: string, input: Uint8Array, outputBytes: number, arenaExtern: boolean): void {
  const board = loadBoard('stm32f4');
  const flags = armGccFlags(board).filter((f) => !f.startsWith('-T') && !f.startsWith('-L') && !f.startsWith('-Wl,'));
  const linkFlags = armGccFlags(board).filter((f) => f.startsWith('-T') || f.startsWith('-L') || f.startsWith('-Wl,'));
  writeFileSync(
    join(dir, 'toolchain.cmake'),
    [
      'set(CMAKE_SYSTEM_NAME Generic)',
      'set(CMAKE_SYSTEM_PROCESSOR arm)',
      `set(CMAKE_C_COMPILER ${findTool('arm-none-eabi-gcc')})`,
      'set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)',
      `set(CMAKE_C_FLAGS_INIT "${flags.join(' ')}")`,
      `set(CMAKE_EXE_LINKER_FLAGS_INIT "${linkFlags.join(' ')}")`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'CMakeLists.txt'),
    [
      'cmake_minimum_required(VERSION 3.13)',
      'project(user_firmware C)',
      `add_subdirectory(${library} model)`,
      `add_executable(firmware.elf main.c ${boardSources(board).join(' ')})`,
      `target_include_directories(firmware.elf PRIVATE ${boardIncludeDirs(board).join(' ')})`,
      `target_link_libraries(firmware.elf PRIVATE ${prefix})`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'main.c'),
    [
      '#include <string.h>',
      '#include "board.h"',
      `#include "${prefix}.h"`,
      '',
      ...(arenaExtern ? [`int8_t ${prefix}_arena[${prefix.toUpperCase()}_ARENA_BYTES] __attribute__((aligned(16)));`, ''] : []),
      `static const uint8_t sample[${input.length}] = {${[...input].join(',')}};`,
      '',
      'int main(void)',
      '{',
      '    board_init();',
      `    memcpy(${prefix}_input(0), sample, sizeof sample);`,
      `    ${prefix}_invoke();`,
      `    board_uart_write(${prefix}_output(0), ${outputBytes});`,
      '    return 0;',
      '}',
      '',
    ].join('\n'),
  );
}

const tools = missingTool('arm-none-eabi-gcc', 'arm-none-eabi-objdump', 'qemu-system-arm', 'cmake');
if (tools !== null) {
  test.skip(`a CMake user project links the library and runs it in QEMU (skipped: ${tools})`, () => {});
} else {
  for (const arena of ['static', 'extern'] as const) {
    test(`a CMake user project links person_detect's library (arena ${arena === 'extern' ? 'defined by the user' : 'in a named section'}) and runs it in QEMU bit-exact`, async (t) => {
      const graph = await loadModel(oracle('person_detect'));
      const library = join(work, `pd-library-${arena}`);
      const section = '.bss.model_arena';
      const { report } = await buildLibrary(graph, 'stm32f4', library, { arena: arena === 'extern' ? { external: true } : { section } });
      t.deepEqual(report.arena, arena === 'extern' ? { bytes: report.memory.arenaBytes, external: true } : { bytes: report.memory.arenaBytes, section, external: false });
      checkLayouts(t, library, 'person_detect');
      const samples = splitSamples(graph, [readNpy(readFileSync(oracle('person_detect', 'input.npy')))], ['input.npy']);
      const input = dataBytes(samples[3][0]);
      const expected = dataBytes(executeGraph(graph, samples[3])[0]);
      const project = join(work, `user-${arena}`);
      const build = join(project, 'build');
      mkdirSync(build, { recursive: true });
      userProject(project, library, 'person_detect', input, expected.length, arena === 'extern');
      const configure = spawnSync(findTool('cmake'), ['-S', project, '-B', build, `-DCMAKE_TOOLCHAIN_FILE=${join(project, 'toolchain.cmake')}`], { encoding: 'utf8' });
      t.is(configure.status, 0, configure.stdout + configure.stderr);
      const make = spawnSync(findTool('cmake'), ['--build', build], { encoding: 'utf8' });
      t.is(make.status, 0, make.stdout + make.stderr);
      const elf = join(build, 'firmware.elf');
      t.true(existsSync(elf));
      if (arena === 'static') {
        // The arena is in the section asked for.
        const objects = spawnSync(findTool('arm-none-eabi-objdump'), ['-t', join(build, 'model', 'libperson_detect.a')], { encoding: 'utf8' });
        t.regex(objects.stdout, new RegExp(`\\${section}\\s+[0-9a-f]+\\s+person_detect_arena`));
      }
      const run = await runQemu({ board: loadBoard('stm32f4'), elf, timeoutMs: 120_000 });
      t.is(run.exitCode, 0, run.stderr);
      t.deepEqual(Buffer.from(run.stdout), Buffer.from(expected));
    });
  }
}

test('edgec build --format library prints what it wrote and writes its report', async (t) => {
  const dir = join(work, 'cli');
  const r = await runEdgec('build', oracle('micro_speech'), '--board', 'stm32f4', '--format', 'library', '--arena-extern', '-o', dir);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /as a library in .*cli: \d+ ops/);
  t.regex(r.stdout, /arena [\d,]+ bytes, defined by your code/);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as LibraryReport;
  t.is(report.format, 'library');
  t.deepEqual(report.sources.filter((s) => !existsSync(join(dir, s))), []);
  t.regex(readFileSync(join(dir, 'src', 'micro_speech.h'), 'utf8'), /extern int8_t micro_speech_arena\[MICRO_SPEECH_ARENA_BYTES\];/);
});
