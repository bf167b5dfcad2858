// Writing an image through the STM32 ROM bootloader: sync, identify the device against the
// board, get past read protection when asked to, erase only the sectors the image covers,
// write, read back, start. Each command is tried a bounded number of times; what still fails
// is an EdgecError naming the port, the command, the address and what to do.

import { EdgecError, usageError } from '../../ir/errors.ts';
import { coveredSectors, type Board, type MemoryRegion } from '../../toolchain/index.ts';
import type { Transport } from '../transport.ts';
import { Bootloader, CommandError } from './client.ts';
import { checkInFlash } from './image.ts';
import { COMMANDS, commandName, hex32, MAX_BLOCK, WRITE_ALIGN, type CommandName } from './protocol.ts';
import { sectorEraseMs } from './timing.ts';

export interface FlashOptions {
  transport: Transport;
  /** The line's speed: waits include the time bytes spend on it. */
  baud: number;
  board: Board;
  image: Uint8Array;
  /** Where the image's first byte goes (the board's flash origin for a .bin). */
  address: number;
  /** Read the image back and compare (default true). */
  verify?: boolean;
  /** Start the image once written (default true). */
  go?: boolean;
  /** Remove read protection if it is active, which mass-erases the flash (default false). */
  unprotect?: boolean;
  onProgress?: (progress: FlashProgress) => void;
}

/** Erase counts sectors; write and verify count bytes. */
export interface FlashProgress {
  phase: 'erase' | 'write' | 'verify';
  done: number;
  total: number;
}

export interface FlashReport {
  productId: number;
  bootloaderVersion: number;
  /** Sector numbers erased, in order. */
  erasedSectors: number[];
  /** Bytes written, the image padded to whole words. */
  bytesWritten: number;
  verified: boolean;
  /** The address GO started, or null with go: false. */
  startedAt: number | null;
  /** Read protection was found and removed (the whole flash was erased). */
  unprotected: boolean;
  /** Commands that had to be sent again, and recoveries. */
  retries: number;
}

/** Tries of one command before its failure is reported. */
const ATTEMPTS = 3;
/** Sync rounds before the device counts as absent: a few seconds. */
const SYNC_ROUNDS = 3;
/** After READOUT_UNPROTECT the device resets and the ROM starts again: allow it longer. */
const RESET_SYNC_ROUNDS = 10;

export async function flashImage(options: FlashOptions): Promise<FlashReport> {
  const { productId, sectors } = checkFlashable(options.board);
  checkImage(options);
  const session = new Session(options);
  try {
    return await session.run(productId, sectors);
  } catch (e) {
    if (e instanceof CommandError) throw session.explain(e);
    throw e;
  } finally {
    session.close();
  }
}

/** The board's product id and sectors, or a usage error when the ROM bootloader cannot flash it. */
export function checkFlashable(board: Board): { productId: number; sectors: MemoryRegion[] } {
  if (board.flashMethod !== 'stm32-rom-bootloader') {
    throw usageError(
      `board ${board.name} has flashMethod '${board.flashMethod}' in its board.json: edgec flash only programs boards through the STM32 ROM bootloader; ` +
        `load its .elf with the board's own tools${board.qemu ? `, or run it in QEMU (edgec run --target qemu)` : ''}`,
    );
  }
  if (board.productId === undefined || board.flashSectors === undefined) {
    throw usageError(`board ${board.name} is flashed by the ROM bootloader but its descriptor lacks productId or flashSectors`);
  }
  return { productId: board.productId, sectors: board.flashSectors };
}

function checkImage({ image, address, board }: FlashOptions): void {
  if (image.length === 0) throw new EdgecError('data', 'the image is empty: nothing to flash');
  if (address % WRITE_ALIGN !== 0) throw new EdgecError('data', `the image starts at ${hex32(address)}: the bootloader writes whole words, so it must start on a multiple of ${WRITE_ALIGN}`);
  checkInFlash(address, image.length, board, 'the image');
}

class Session {
  private readonly bootloader: Bootloader;
  private readonly port: string;
  private retries = 0;

  constructor(private readonly o: FlashOptions) {
    this.bootloader = new Bootloader(o.transport, o.baud);
    this.port = o.transport.name;
  }

  async run(productId: number, sectors: MemoryRegion[]): Promise<FlashReport> {
    const { o, bootloader } = this;
    if (!(await bootloader.sync(SYNC_ROUNDS))) throw this.noAnswer();
    const { commands } = await this.attempt(() => bootloader.get());
    const bootloaderVersion = await this.attempt(() => bootloader.getVersion());
    this.require(commands, bootloaderVersion, ['GET_ID', 'READ_MEMORY', 'WRITE_MEMORY', 'EXTENDED_ERASE', ...(o.go === false ? [] : ['GO' as const])]);
    const id = await this.attempt(() => bootloader.getId());
    if (id !== productId) {
      throw usageError(
        `the device on ${this.port} reports product id 0x${id.toString(16)}, but ${o.board.name} is 0x${productId.toString(16)}: ` +
          'check that the port is the board you mean, or name its board with --board',
      );
    }
    const unprotected = await this.ensureReadable(commands, bootloaderVersion);
    const erasedSectors = await this.erase(sectors);
    const image = padded(o.image);
    await this.write(image);
    if (o.verify !== false) await this.verify(image);
    let startedAt: number | null = null;
    if (o.go !== false) {
      await this.attempt(() => bootloader.go(o.address));
      startedAt = o.address;
    }
    return {
      productId: id,
      bootloaderVersion,
      erasedSectors,
      bytesWritten: image.length,
      verified: o.verify !== false,
      startedAt,
      unprotected,
      retries: this.retries,
    };
  }

  close(): void {
    this.bootloader.close();
  }

  /**
   * Read protection (RDP level 1) makes the ROM refuse READ_MEMORY, WRITE_MEMORY, erase and GO
   * while GET and GET_ID still work. Returns whether protection had to be removed.
   */
  private async ensureReadable(commands: number[], version: number): Promise<boolean> {
    if (await this.readable()) return false;
    const address = this.o.address;
    if (!this.o.unprotect) {
      throw new EdgecError('tool', `read protection is active on the device on ${this.port}: the bootloader refuses READ_MEMORY at ${hex32(address)} (GET and GET_ID work)`, [
        'flash again with --unprotect: it sends READOUT_UNPROTECT, which erases the whole flash (not only the sectors of this image), then the device resets',
      ]);
    }
    this.require(commands, version, ['READOUT_UNPROTECT']);
    await this.attempt(() => this.bootloader.readoutUnprotect());
    if (!(await this.bootloader.sync(RESET_SYNC_ROUNDS))) {
      throw new EdgecError('tool', `the device on ${this.port} did not answer after READOUT_UNPROTECT mass-erased it and reset`, [
        'BOOT0 must stay high through that reset for the ROM bootloader to come back; reset the board and run edgec flash again (without --unprotect now)',
      ]);
    }
    if (!(await this.readable())) {
      throw new EdgecError('tool', `read protection is still active on ${this.port} after READOUT_UNPROTECT: READ_MEMORY at ${hex32(address)} is refused`, [
        'the option bytes may be at RDP level 2, which nothing can undo; otherwise power-cycle the board with BOOT0 high and try again',
      ]);
    }
    return true;
  }

  /** Whether READ_MEMORY is accepted; a refusal of the command itself, every try, is read protection. */
  private async readable(): Promise<boolean> {
    try {
      await this.attempt(() => this.bootloader.readMemory(this.o.address, WRITE_ALIGN));
      return true;
    } catch (e) {
      if (e instanceof CommandError && e.stage === 'command' && e.failure === 'nack') return false;
      throw e;
    }
  }

  private async erase(sectors: MemoryRegion[]): Promise<number[]> {
    const numbers = coveredSectors(sectors, this.o.address, this.o.image.length);
    for (const [i, n] of numbers.entries()) {
      this.progress('erase', i, numbers.length);
      const { origin, size } = sectors[n];
      await this.attempt(() => this.bootloader.eraseSectors([n], sectorEraseMs(size), origin));
    }
    this.progress('erase', numbers.length, numbers.length);
    return numbers;
  }

  private async write(image: Uint8Array): Promise<void> {
    for (let offset = 0; offset < image.length; offset += MAX_BLOCK) {
      this.progress('write', offset, image.length);
      const block = image.subarray(offset, offset + MAX_BLOCK);
      await this.attempt(() => this.bootloader.writeMemory(this.o.address + offset, block));
    }
    this.progress('write', image.length, image.length);
  }

  /** A block that reads back wrong is read again: a line can garble a read as well as a write. */
  private async verify(image: Uint8Array): Promise<void> {
    for (let offset = 0; offset < image.length; offset += MAX_BLOCK) {
      this.progress('verify', offset, image.length);
      const block = image.subarray(offset, offset + MAX_BLOCK);
      const address = this.o.address + offset;
      for (let read = 1; ; read++) {
        const got = await this.attempt(() => this.bootloader.readMemory(address, block.length));
        const at = got.findIndex((b, i) => b !== block[i]);
        if (at < 0) break;
        if (read === ATTEMPTS) {
          throw new EdgecError(
            'tool',
            `verify failed on ${this.port}: READ_MEMORY at ${hex32(address + at)} gave 0x${hexByte(got[at])} where 0x${hexByte(block[at])} was written (${ATTEMPTS} reads agree)`,
            [
              'the flash holds other bits than were written: the sector may not have been erased, or may be worn; run edgec flash again',
              'if it fails at a different address each time, the line garbles bytes: try a lower --baud',
            ],
          );
        }
        this.retries++;
      }
    }
    this.progress('verify', image.length, image.length);
  }

  /** Runs one command, again after a refusal or after recovering from a missing answer. */
  private async attempt<T>(command: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await command();
      } catch (e) {
        if (!(e instanceof CommandError) || tries === ATTEMPTS) throw e;
        this.retries++;
        // Silence may have left the device inside a frame, and a refusal may come from a stray
        // byte ahead of the command: either way, realign before sending it again.
        if (!(await this.bootloader.recover(SYNC_ROUNDS))) throw this.stoppedAnswering(e);
      }
    }
  }

  private require(commands: number[], version: number, names: CommandName[]): void {
    const missing = names.filter((n) => !commands.includes(COMMANDS[n]));
    if (missing.length === 0) return;
    throw new EdgecError(
      'tool',
      `the bootloader on ${this.port} (version ${version >> 4}.${version & 0xf}) does not offer ${missing.map((n) => `${n} (0x${hexByte(COMMANDS[n])})`).join(', ')}`,
      [`it lists ${commands.map((c) => commandName(c)).join(', ')}; edgec flash needs the USART bootloader of STM32F2/F4/F7 (AN3155, version 3.x)`],
    );
  }

  private progress(phase: FlashProgress['phase'], done: number, total: number): void {
    this.o.onProgress?.({ phase, done, total });
  }

  private noAnswer(): EdgecError {
    return new EdgecError('tool', `no answer from the bootloader on ${this.port}: it did not answer the sync byte (0x7F) in ${SYNC_ROUNDS} tries`, [
      'BOOT0 must be high (BOOT1 low) when the board comes out of reset: set it, then press reset',
      `the port: is ${this.port} the adapter wired to the board, its TX to the MCU's bootloader RX pin (USART1 PA10 on STM32F4), RX to TX (PA9), grounds joined?`,
      `the baud rate (--baud ${this.o.baud}): the ROM detects 1200 to 115200 baud from the sync byte`,
      "the parity: the ROM speaks 8E1, edgec's default (--parity even); --parity none is only for pseudo-terminals and simulators",
    ]);
  }

  private stoppedAnswering(e: CommandError): EdgecError {
    return new EdgecError('tool', `the device on ${this.port} stopped answering: ${where(e)} got ${e.message}, and it did not answer a sync afterwards`, [
      'check the cable and the board\'s supply; if the board was reset, BOOT0 must still be high; then run edgec flash again',
    ]);
  }

  /** The EdgecError for a command that failed every try. */
  explain(e: CommandError): EdgecError {
    const message = `${where(e)} failed on ${this.port} after ${ATTEMPTS} tries: ${e.message}`;
    return new EdgecError('tool', message, [fix(e, this.o.board)]);
  }
}

function where(e: CommandError): string {
  return `${e.command}${e.address === undefined ? '' : ` at ${hex32(e.address)}`}`;
}

function fix(e: CommandError, board: Board): string {
  if (e.failure === 'timeout') return 'the device stopped answering in time: check the cable and the supply; a lower --baud helps on long or noisy wires';
  if (e.failure === 'garbage') return 'the line garbles bytes: check --baud and --parity (the ROM speaks 8E1), or lower --baud';
  if (e.stage === 'command') return 'the bootloader refuses this command, as it does while read protection is active: flash with --unprotect (erases the whole flash)';
  if (e.stage === 'address') {
    const { origin, size } = board.flash;
    return `the device refuses the address: it is outside its memory; ${board.name}'s flash is ${hex32(origin)}-${hex32(origin + size - 1)}: check --board`;
  }
  return 'the device could not program or erase there: the sector may be write-protected (option bytes nWRPi; STM32CubeProgrammer clears them), or the supply is too low for flash work';
}

/** WRITE_MEMORY takes whole words: the tail is padded with the erased value. */
function padded(image: Uint8Array): Uint8Array {
  const length = Math.ceil(image.length / WRITE_ALIGN) * WRITE_ALIGN;
  if (length === image.length) return image;
  const out = new Uint8Array(length).fill(0xff);
  out.set(image);
  return out;
}

const hexByte = (b: number) => b.toString(16).padStart(2, '0');
