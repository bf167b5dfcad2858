// What `edgec flash` writes, from what the user names: a build folder (its .bin, for the board it
// was built for), an ELF file (its loadable segments), or a raw .bin (at the board's flash origin).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { readBuildFolder } from '../build-folder.ts';
import { dataError, usageError } from '../../ir/errors.ts';
import { loadBoard, type Board } from '../../toolchain/index.ts';
import { isElf, loadSegments, type Segment } from './elf.ts';
import { hex32 } from './protocol.ts';

export interface FlashImage {
  /** The bytes to write, contiguous. */
  bytes: Uint8Array;
  /** Where the first byte goes. */
  address: number;
  board: Board;
  /** The file the bytes came from. */
  file: string;
}

/** The board a bare .bin or .elf is for when none is named. */
export const DEFAULT_BOARD = 'stm32f4';

/** Flash's erased value: gaps between segments filled with it cost no programming. */
const ERASED = 0xff;

/**
 * @param boardName the board for a bare .bin or .elf; a build folder names its own, and a
 *   different one here is a usage error
 */
export function loadFlashImage(path: string, boardName?: string): FlashImage {
  if (!existsSync(path)) throw usageError(`${path}: no such file or folder; give a build folder (edgec build -o), an .elf or a .bin`);
  if (statSync(path).isDirectory()) return fromBuildFolder(path, boardName);
  const board = loadBoard(boardName ?? DEFAULT_BOARD);
  const bytes = new Uint8Array(readFileSync(path));
  if (isElf(bytes)) return fromSegments(loadSegments(bytes, path), board, path);
  if (extname(path).toLowerCase() !== '.bin') {
    throw usageError(`${path}: give a build folder, an .elf or a raw .bin (arm-none-eabi-objcopy -O binary makes one from other formats)`);
  }
  return checked({ bytes, address: board.flash.origin, board, file: path });
}

function fromBuildFolder(dir: string, boardName: string | undefined): FlashImage {
  const { report, bin } = readBuildFolder(dir);
  if (boardName !== undefined && boardName !== report.board) {
    throw usageError(`${dir} was built for ${report.board}, not ${boardName}: leave out --board, or rebuild for ${boardName}`);
  }
  const board = loadBoard(report.board);
  return checked({ bytes: new Uint8Array(readFileSync(bin)), address: board.flash.origin, board, file: bin });
}

/**
 * One image from the first segment's address to the last one's end. It starts where the ELF
 * starts (the flash origin for anything edgec builds), so sectors below an application that
 * sits behind its own bootloader are left alone.
 */
function fromSegments(segments: Segment[], board: Board, file: string): FlashImage {
  const start = segments[0].address;
  const end = Math.max(...segments.map((s) => s.address + s.data.length));
  for (const s of segments) checkInFlash(s.address, s.data.length, board, `${file}: a segment`);
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1];
    if (segments[i].address < previous.address + previous.data.length) {
      throw dataError(`${file}: segments at ${hex32(previous.address)} and ${hex32(segments[i].address)} overlap`);
    }
  }
  const bytes = new Uint8Array(end - start).fill(ERASED);
  for (const s of segments) bytes.set(s.data, s.address - start);
  return checked({ bytes, address: start, board, file });
}

function checked(image: FlashImage): FlashImage {
  if (image.bytes.length === 0) throw dataError(`${image.file} is empty: nothing to flash`);
  checkInFlash(image.address, image.bytes.length, image.board, image.file);
  return image;
}

/** Refuses bytes that would land outside the board's flash. */
export function checkInFlash(address: number, length: number, board: Board, what: string): void {
  const { origin, size } = board.flash;
  if (address >= origin && address + length <= origin + size) return;
  throw dataError(
    `${what} (${length} bytes at ${hex32(address)}-${hex32(address + length - 1)}) lies outside ${board.name}'s flash ` +
      `(${size} bytes at ${hex32(origin)}-${hex32(origin + size - 1)}): check that it was linked for ${board.name} (or pass --board)`,
  );
}
