// Board descriptors: boards/<name>/board.json, checked field by field so a mistake in a
// descriptor is reported with its file and field rather than surfacing later as a bad flag.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgecError } from '../ir/errors.ts';

export const CPUS = ['cortex-m0plus', 'cortex-m3', 'cortex-m4', 'cortex-m7', 'cortex-m33'] as const;
export const FPUS = ['none', 'fpv4-sp-d16', 'fpv5-sp-d16', 'fpv5-d16'] as const;
export const FLOAT_ABIS = ['soft', 'softfp', 'hard'] as const;
export const FLASH_METHODS = ['stm32-rom-bootloader', 'none'] as const;

/** The exit code a board reports after a fault (BOARD_EXIT_FAULT in boards/board.h). */
export const BOARD_EXIT_FAULT = 127;

/** RAM the shared linker script (boards/common/cortex_m_sections.ld) keeps for the stack. */
export const MIN_STACK_BYTES = 4096;

export type Cpu = (typeof CPUS)[number];
export type Fpu = (typeof FPUS)[number];
export type FloatAbi = (typeof FLOAT_ABIS)[number];
export type FlashMethod = (typeof FLASH_METHODS)[number];

export interface MemoryRegion {
  origin: number;
  size: number;
}

export interface NamedRegion extends MemoryRegion {
  name: string;
}

export interface Board {
  name: string;
  description: string;
  /** Absolute path of the board's folder (startup code, linker script, drivers). */
  dir: string;
  /**
   * Absolute path of the folder of code it shares with boards of the same family (a sibling
   * folder named by board.json's `family`, without a board.json of its own): drivers, and the
   * linker script when the board's folder has none.
   */
  familyDir?: string;
  cpu: Cpu;
  fpu: Fpu;
  floatAbi: FloatAbi;
  flash: MemoryRegion;
  ram: MemoryRegion;
  /**
   * The part's memories by the names its reference manual gives them (tightly coupled RAM,
   * SRAM banks), where `flash` and `ram` span several or leave some unused: the record of
   * where the linker's sections land, e.g. that RAM begins with DTCM.
   */
  memories?: NamedRegion[];
  clockHz: number;
  console: { uart: string; baud: number; tx?: string; rx?: string };
  flashMethod: FlashMethod;
  /** The product id its ROM bootloader reports (AN3155 GET_ID); boards flashed by stm32-rom-bootloader. */
  productId?: number;
  /** Flash sectors, the units erase works in, in address order: the index is the sector number. */
  flashSectors?: MemoryRegion[];
  /** The QEMU machine that stands in for the board, or null when there is none. */
  qemu: { machine: string; extraArgs: string[] } | null;
}

/** The boards/ folder of this repository. */
export function boardsDir(): string {
  return fileURLToPath(new URL('../../boards/', import.meta.url));
}

/** Folders of the user's own boards (`--board-dir`), searched before the repository's boards/. */
let userBoardDirs: string[] = [];

/**
 * Makes the boards in these folders (each a folder of board folders, as boards/ is) known to
 * listBoards and loadBoard, ahead of the repository's: a board there shadows one of the same name.
 */
export function useBoardDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new EdgecError('usage', `--board-dir ${dir}: no such folder`);
    if (existsSync(join(dir, 'board.json'))) {
      throw new EdgecError('usage', `--board-dir ${dir} is a board folder itself: give the folder that holds it (${dirname(resolve(dir))}) and --board ${basename(resolve(dir))}`);
    }
  }
  userBoardDirs = dirs.map((d) => resolve(d));
}

/** Where boards are looked for: the user's folders, then the repository's. */
function boardSearchPath(): string[] {
  return [...userBoardDirs, boardsDir()];
}

/** Names of the boards in `dir` (folders holding a board.json), or in every folder boards are looked for; sorted. */
export function listBoards(dir?: string): string[] {
  const names = (dir === undefined ? boardSearchPath() : [dir]).flatMap((d) =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(d, e.name, 'board.json')))
      .map((e) => e.name),
  );
  return [...new Set(names)].sort();
}

/** Reads and checks <dir>/<name>/board.json, by default from the first folder boards are looked in that has it. */
export function loadBoard(name: string, dir: string | undefined = boardSearchPath().find((d) => existsSync(join(d, name, 'board.json')))): Board {
  if (dir === undefined || !listBoards(dir).includes(name)) {
    throw new EdgecError('usage', `unknown board '${name}': known boards are ${listBoards(dir).join(', ')}`);
  }
  const file = join(dir, name, 'board.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgecError('usage', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  const fields = new FieldReader(json, file);
  const board: Board = {
    name: fields.string('name'),
    description: fields.string('description'),
    dir: join(dir, name),
    cpu: fields.oneOf('cpu', CPUS),
    fpu: fields.oneOf('fpu', FPUS),
    floatAbi: fields.oneOf('floatAbi', FLOAT_ABIS),
    flash: fields.region('flash'),
    ram: fields.region('ram'),
    clockHz: fields.positiveInteger('clockHz'),
    console: {
      uart: fields.string('console.uart'),
      baud: fields.positiveInteger('console.baud'),
      ...fields.optionalStrings('console.tx', 'console.rx'),
    },
    flashMethod: fields.oneOf('flashMethod', FLASH_METHODS),
    qemu: fields.isNull('qemu')
      ? null
      : { machine: fields.string('qemu.machine'), extraArgs: fields.stringList('qemu.extraArgs') },
  };
  // The ROM bootloader flasher checks the device it talks to, and erases sector by sector.
  const bootloaderNeeds = board.flashMethod === 'stm32-rom-bootloader' ? `with flashMethod '${board.flashMethod}'` : undefined;
  if (fields.present('productId', bootloaderNeeds)) board.productId = fields.productId('productId');
  if (fields.present('flashSectors', bootloaderNeeds)) board.flashSectors = fields.sectorMap('flashSectors', board.flash);
  if (fields.present('memories')) board.memories = fields.namedRegions('memories');
  if (fields.present('family')) {
    const family = fields.string('family');
    const familyDir = join(dir, family);
    if (!existsSync(familyDir) || existsSync(join(familyDir, 'board.json'))) {
      fields.problem(`family: '${family}' names no shared folder beside the board's (a folder without a board.json)`);
    }
    board.familyDir = familyDir;
  }
  checkBoardFiles(board, fields);
  if (board.name !== '' && board.name !== name) fields.problem(`name: '${board.name}' does not match the folder name '${name}'`);
  if (board.fpu === 'none' && board.floatAbi === 'hard') fields.problem(`floatAbi: 'hard' needs an fpu`);
  fields.throwIfAny();
  return board;
}

/** The hooks of boards/common/cortex_m.h and board.h that a board's C files define. */
const BOARD_HOOKS = [
  'board_port_clock_init',
  'board_port_uart_init',
  'board_uart_write',
  'board_uart_read_byte',
  'board_port_timer_start',
  'board_port_timer_read',
  'board_port_timer_name',
] as const;

/**
 * What a board folder (with its family's) must hold besides board.json, found before gcc would
 * stop on it with a less direct message: board_config.h, a linker.ld whose FLASH and RAM are
 * board.json's, and C files defining every hook.
 */
function checkBoardFiles(board: Board, fields: FieldReader): void {
  const where = `in the board's folder${board.familyDir ? ' or its family folder' : ''}`;
  const folders = [board.dir, ...(board.familyDir ? [board.familyDir] : [])];
  if (!folders.some((d) => existsSync(join(d, 'board_config.h')))) {
    fields.problem(`no board_config.h ${where} (it defines BOARD_IRQ_COUNT, the number of device interrupts)`);
  }
  const script = boardLinkerScript(board);
  if (!existsSync(script)) {
    fields.problem(`no linker.ld ${where}`);
  } else {
    const text = readFileSync(script, 'utf8');
    const regions = linkerRegions(text);
    for (const [region, field] of [['FLASH', 'flash'], ['RAM', 'ram']] as const) {
      const got = regions[region];
      const want = board[field];
      if (!got) fields.problem(`${script}: defines no ${region} memory region`);
      else if (!fields.hasProblemWith(field) && got.origin !== want.origin || got.size !== want.size) {
        fields.problem(`${script}: ${region} is ${hex(got.origin)} + ${hex(got.size)}, but board.json's ${field} is ${hex(want.origin)} + ${hex(want.size)}`);
      }
    }
    if (!/^\s*INCLUDE\s+cortex_m_sections\.ld\b/m.test(text)) fields.problem(`${script}: does not INCLUDE cortex_m_sections.ld (the shared section layout)`);
  }
  const cText = folders
    .flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.c')).map((f) => readFileSync(join(d, f), 'utf8')) : []))
    .join('\n');
  const undefinedHooks = BOARD_HOOKS.filter((hook) => !new RegExp(`\\b${hook}\\s*[(\\[]`).test(cText));
  if (undefinedHooks.length > 0) fields.problem(`no .c file ${where} defines ${undefinedHooks.join(', ')} (see boards/common/cortex_m.h)`);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The MEMORY regions of a linker script: `NAME (rwx) : ORIGIN = 0x..., LENGTH = 128K`. */
export function linkerRegions(script: string): Record<string, MemoryRegion> {
  const number = (text: string) => Number.parseInt(text, text.startsWith('0x') ? 16 : 10);
  const scale: Record<string, number> = { '': 1, K: 1024, M: 1024 * 1024 };
  return Object.fromEntries(
    [...script.matchAll(/^\s*(\w+)\s*\([a-z]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*LENGTH\s*=\s*(0x[0-9a-fA-F]+|\d+)([KM]?)/gm)].map((m) => [
      m[1],
      { origin: number(m[2]), size: number(m[3]) * scale[m[4]] },
    ]),
  );
}

/** Numbers of the sectors that hold any of the `length` bytes from `start`. */
export function coveredSectors(sectors: readonly MemoryRegion[], start: number, length: number): number[] {
  const end = start + length;
  return sectors.flatMap((s, i) => (s.origin < end && start < s.origin + s.size ? [i] : []));
}

/** The C files every firmware for `board` links: the shared Cortex-M code and the board's own. */
export function boardSources(board: Board): string[] {
  const cFiles = (d: string) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.c'))
      .sort()
      .map((f) => join(d, f));
  return [...cFiles(commonDir(board)), ...(board.familyDir ? cFiles(board.familyDir) : []), ...cFiles(board.dir)];
}

/**
 * The folder of board.h and common/: the board's parent when it holds them (boards/, or the copy
 * in a build folder), else the repository's (a board of --board-dir needs no copy of them).
 */
function sharedDir(board: Board): string {
  const parent = dirname(board.dir);
  return existsSync(join(parent, 'board.h')) && existsSync(join(parent, 'common')) ? parent : boardsDir();
}

/** Include directories for board.h and the board's own headers (they come before its family's). */
export function boardIncludeDirs(board: Board): string[] {
  return [sharedDir(board), board.dir, ...(board.familyDir ? [board.familyDir] : [])];
}

/** The board's linker script: its own, else its family's. */
export function boardLinkerScript(board: Board): string {
  const own = join(board.dir, 'linker.ld');
  return existsSync(own) || !board.familyDir ? own : join(board.familyDir, 'linker.ld');
}

/** The folder of code shared by all boards (startup, faults, syscalls, section layout). */
export function commonDir(board: Board): string {
  return join(sharedDir(board), 'common');
}

/** Collects every problem in a descriptor so one run reports them all. */
class FieldReader {
  private readonly problems: string[] = [];

  constructor(
    private readonly root: unknown,
    private readonly file: string,
  ) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  hasProblemWith(path: string): boolean {
    return this.problems.some((p) => p.startsWith(`${path}.`) || p.startsWith(`${path}:`));
  }

  throwIfAny(): void {
    if (this.problems.length > 0) {
      throw new EdgecError('usage', `invalid board descriptor ${this.file}`, this.problems);
    }
  }

  private get(path: string): unknown {
    let value: unknown = this.root;
    for (const key of path.split('.')) {
      if (typeof value !== 'object' || value === null) return undefined;
      // Numeric keys index lists, names index objects.
      if (Array.isArray(value) !== /^\d+$/.test(key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }

  /** Whether the field is there; its absence is a problem when it is required (`requiredBecause` says when). */
  present(path: string, requiredBecause?: string): boolean {
    if (this.get(path) !== undefined) return true;
    if (requiredBecause !== undefined) this.problem(`${path}: required on a board ${requiredBecause}`);
    return false;
  }

  isNull(path: string): boolean {
    return this.get(path) === null;
  }

  string(path: string): string {
    const v = this.get(path);
    if (typeof v === 'string' && v !== '') return v;
    this.problem(`${path}: expected a non-empty string, got ${JSON.stringify(v)}`);
    return '';
  }

  optionalStrings(...paths: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const path of paths) {
      if (this.get(path) !== undefined) out[path.slice(path.lastIndexOf('.') + 1)] = this.string(path);
    }
    return out;
  }

  stringList(path: string): string[] {
    const v = this.get(path);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    this.problem(`${path}: expected a list of strings, got ${JSON.stringify(v)}`);
    return [];
  }

  oneOf<T extends string>(path: string, allowed: readonly T[]): T {
    const v = this.get(path);
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.problem(`${path}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return allowed[0];
  }

  positiveInteger(path: string): number {
    const n = this.number(path);
    if (n !== undefined && n > 0) return n;
    if (n !== undefined) this.problem(`${path}: must be positive, got ${n}`);
    return 1;
  }

  /** Addresses and sizes may be written as JSON numbers or as "0x..." strings. */
  private number(path: string): number | undefined {
    const v = this.get(path);
    const n = typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v, 16) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
    this.problem(`${path}: expected a non-negative integer or "0x..." string, got ${JSON.stringify(v)}`);
    return undefined;
  }

  /** A 16-bit product id as GET_ID reports it, e.g. "0x413". */
  productId(path: string): number {
    const id = this.positiveInteger(path);
    if (id > 0xffff) this.problem(`${path}: a product id has 16 bits, got 0x${id.toString(16)}`);
    return id;
  }

  /** Groups of equal sectors, `[{ "count": 4, "size": "0x4000" }, ...]`, laid end to end over the whole flash. */
  sectorMap(path: string, flash: MemoryRegion): MemoryRegion[] {
    const groups = this.get(path);
    if (!Array.isArray(groups) || groups.length === 0) {
      this.problem(`${path}: expected a list of { "count", "size" } groups, got ${JSON.stringify(groups)}`);
      return [];
    }
    const sectors: MemoryRegion[] = [];
    let origin = flash.origin;
    groups.forEach((_, i) => {
      const count = this.positiveInteger(`${path}.${i}.count`);
      const size = this.positiveInteger(`${path}.${i}.size`);
      for (let k = 0; k < count; k++, origin += size) sectors.push({ origin, size });
    });
    const covered = origin - flash.origin;
    if (covered !== flash.size) this.problem(`${path}: the sectors cover ${covered} bytes, the flash has ${flash.size}`);
    return sectors;
  }

  namedRegions(path: string): NamedRegion[] {
    const list = this.get(path);
    if (!Array.isArray(list)) {
      this.problem(`${path}: expected a list of { "name", "origin", "size" }, got ${JSON.stringify(list)}`);
      return [];
    }
    return list.map((_, i) => ({ name: this.string(`${path}.${i}.name`), ...this.region(`${path}.${i}`) }));
  }

  region(path: string): MemoryRegion {
    const origin = this.number(`${path}.origin`) ?? 0;
    const size = this.positiveInteger(`${path}.size`);
    if (origin + size > 2 ** 32) this.problem(`${path}: ends beyond the 32-bit address space`);
    return { origin, size };
  }
}
