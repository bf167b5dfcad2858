// Building firmware: the board's startup, drivers and linker script plus the caller's
// sources, compiled with arm-none-eabi-gcc into an ELF (for QEMU and debuggers) and a raw
// .bin (for flashing), with the flash, RAM and per-function stack use it needs.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { EdgecError } from '../ir/errors.ts';
import type { Board } from './board.ts';
import { boardIncludeDirs, boardSources, MIN_STACK_BYTES } from './board.ts';
import { runTool } from './exec.ts';
import { armGccFlags } from './flags.ts';
import type { FirmwareSize } from './size.ts';
import { parseSizeOutput } from './size.ts';
import type { StackFrame } from './stack.ts';
import { parseStackUsage } from './stack.ts';
import { findTool } from './tools.ts';

export interface BuildOptions {
  board: Board;
  /** C (or assembly) files of the program; the board's own files are added. */
  sources: string[];
  includeDirs?: string[];
  /** Preprocessor macros: `true` defines the name alone, anything else NAME=value. */
  defines?: Record<string, string | number | true>;
  outDir: string;
  /** Base name of the outputs: <outDir>/<name>.elf, .bin, .map. */
  name: string;
  /** Treat warnings as errors (default true: generated code must build clean). */
  werror?: boolean;
}

export interface Firmware {
  elf: string;
  bin: string;
  map: string;
  size: FirmwareSize;
  /** Stack frame of every compiled function, largest first. */
  stack: StackFrame[];
}

function checkOptions(o: BuildOptions): void {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.name)) {
    problems.push(`name '${o.name}': use letters, digits, '_', '.' and '-' only`);
  }
  if (o.sources.length === 0) problems.push('no source files given');
  for (const s of o.sources) if (!existsSync(s)) problems.push(`source file not found: ${s}`);
  for (const d of o.includeDirs ?? []) if (!existsSync(d)) problems.push(`include directory not found: ${d}`);
  for (const key of Object.keys(o.defines ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) problems.push(`define '${key}' is not a C identifier`);
  }
  if (problems.length > 0) {
    throw new EdgecError('usage', `cannot build firmware '${o.name}' for ${o.board.name}`, problems);
  }
}

/** gcc runs without newlib installed until it looks for nano.specs; say so up front. */
async function checkNewlib(gcc: string): Promise<void> {
  const { stdout } = await runTool(gcc, ['-print-file-name=nano.specs'], 'looking for newlib-nano');
  const found = stdout.trim();
  if (found === 'nano.specs' || !existsSync(found)) {
    throw new EdgecError(
      'tool',
      'newlib-nano (nano.specs) for arm-none-eabi-gcc is not installed. ' +
        'Install it with: apt-get install libnewlib-arm-none-eabi',
    );
  }
}

/** Turns the linker's "does not fit" errors into one a user can act on. */
function explainLinkFailure(e: unknown, o: BuildOptions): unknown {
  if (!(e instanceof EdgecError)) return e;
  const text = e.details.join('\n');
  const overflow = /region `(\w+)' overflowed by (\d+) bytes/.exec(text);
  if (overflow !== null) {
    const region = overflow[1] === 'RAM' ? o.board.ram : o.board.flash;
    return new EdgecError(
      'model',
      `firmware '${o.name}' does not fit ${o.board.name}: ${overflow[1]} (${region.size / 1024} KiB) ` +
        `overflowed by ${overflow[2]} bytes`,
      e.details,
    );
  }
  if (text.includes('leaves less than the minimum stack')) {
    return new EdgecError(
      'model',
      `firmware '${o.name}' does not fit ${o.board.name}: static RAM leaves less than ${MIN_STACK_BYTES} bytes for the stack`,
      e.details,
    );
  }
  return e;
}

export async function buildFirmware(o: BuildOptions): Promise<Firmware> {
  checkOptions(o);
  const gcc = findTool('arm-none-eabi-gcc');
  const objcopy = findTool('arm-none-eabi-objcopy');
  const sizeTool = findTool('arm-none-eabi-size');
  await checkNewlib(gcc);

  const outDir = resolve(o.outDir);
  const objDir = join(outDir, `${o.name}.obj`);
  rmSync(objDir, { recursive: true, force: true });
  mkdirSync(objDir, { recursive: true });

  const flags = armGccFlags(o.board);
  const warnings = ['-Wall', '-Wextra', ...(o.werror === false ? [] : ['-Werror'])];
  const includes = [...boardIncludeDirs(o.board), ...(o.includeDirs ?? [])].map((d) => `-I${resolve(d)}`);
  const defines = Object.entries(o.defines ?? {}).map(([k, v]) => (v === true ? `-D${k}` : `-D${k}=${v}`));

  const sources = [...boardSources(o.board), ...o.sources.map((s) => resolve(s))];
  // Numbered object names keep two sources with the same base name apart.
  const objects = sources.map((s, i) => join(objDir, `${i}-${basename(s).replace(/\.[^.]*$/, '')}.o`));
  for (const [i, source] of sources.entries()) {
    await runTool(gcc, [...flags, ...warnings, ...includes, ...defines, '-c', source, '-o', objects[i]], `compiling ${source}`);
  }

  const elf = join(outDir, `${o.name}.elf`);
  const bin = join(outDir, `${o.name}.bin`);
  const map = join(outDir, `${o.name}.map`);
  try {
    await runTool(gcc, [...flags, ...objects, `-Wl,-Map=${map}`, '-lm', '-o', elf], `linking ${basename(elf)}`);
  } catch (e) {
    throw explainLinkFailure(e, o);
  }
  await runTool(objcopy, ['-O', 'binary', elf, bin], `writing ${basename(bin)}`);
  const size = parseSizeOutput((await runTool(sizeTool, ['-B', elf], `measuring ${basename(elf)}`)).stdout);

  const stack = objects
    .map((obj) => obj.replace(/\.o$/, '.su'))
    .filter((su) => existsSync(su))
    .flatMap((su) => parseStackUsage(readFileSync(su, 'utf8')))
    .sort((a, b) => b.bytes - a.bytes || a.function.localeCompare(b.function));
  return { elf, bin, map, size, stack };
}
