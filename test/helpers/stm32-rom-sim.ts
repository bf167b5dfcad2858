// A simulated STM32F405's ROM bootloader (AN3155 over USART, bootloader 3.1, PID 0x413) with the
// F405's flash sectors and their erase semantics, over any Transport (a pty in the tests). Faults
// can be switched on to check how a client copes. Its memory map comes from RM0090, not from
// boards/stm32f4/board.json, so a mistake there shows up as a test failure.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  ACK,
  COMMANDS,
  commandName,
  ERASE_SPECIAL,
  NACK,
  parseAddressFrame,
  SYNC,
  WRITE_ALIGN,
  xor,
  type CommandName,
} from '../../src/device/an3155/protocol.ts';
import type { Transport } from '../../src/device/transport.ts';

export const SIM_PRODUCT_ID = 0x413;
export const SIM_BOOTLOADER_VERSION = 0x31;
export const FLASH_ORIGIN = 0x08000000;
export const RAM_ORIGIN = 0x20000000;
const KIB = 1024;
/** RM0090: sectors 0-3 of 16 KiB, 4 of 64 KiB, 5-11 of 128 KiB. */
export const SECTOR_SIZES = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map((k) => k * KIB);
const FLASH_SIZE = 1024 * KIB;
const RAM_SIZE = 128 * KIB;
const ERASED = 0xff;

export interface SimFaults {
  /** NACK this command's first `times` arrivals. */
  nackCommand?: { command: CommandName; times: number };
  /** NACK the data of the first `times` WRITE_MEMORY frames to this address, writing nothing. */
  nackWriteBlock?: { address: number; times: number };
  /** Flip a bit of this address in the first `times` READ_MEMORY answers that include it. */
  flipReadBit?: { address: number; times: number };
  /** Lose the first data byte of the first `times` WRITE_MEMORY frames, as a noisy line would. */
  dropWriteByte?: { times: number };
  /** Each sector erase takes this long (a mass erase too). */
  eraseMs?: number;
  /** Never send a byte. */
  silent?: boolean;
}

export interface SimOptions {
  faults?: SimFaults;
  /** Read protection (RDP level 1) active at start. */
  readProtected?: boolean;
  /** What the flash holds at start: 0xFF (erased) unless given, e.g. to stand for an older firmware. */
  flashFill?: number;
  /** Called with a line for each command, for a person watching (stm32-rom-sim-main.ts). */
  onEvent?: (line: string) => void;
}

class Stopped extends Error {}

export class Stm32RomSim {
  readonly flash: Uint8Array;
  readonly ram = new Uint8Array(RAM_SIZE);
  /** Sector numbers erased one by one, in order. */
  readonly erasedSectors: number[] = [];
  massErases = 0;
  readProtected: boolean;
  /** Where GO started the firmware, or null while the bootloader still runs. */
  startedAt: number | null = null;
  /** How many times the device reset (READOUT_UNPROTECT resets it). */
  resets = 0;

  private readonly faults: SimFaults;
  private readonly counts = new Map<string, number>();
  private readonly queue: number[] = [];
  private waiting: { n: number; resolve: (bytes: number[]) => void; reject: (e: Error) => void } | null = null;
  private readonly detach: () => void;
  private stopped = false;
  private synced = false;
  readonly done: Promise<void>;

  constructor(
    private readonly transport: Transport,
    private readonly options: SimOptions = {},
  ) {
    this.faults = options.faults ?? {};
    this.readProtected = options.readProtected ?? false;
    this.flash = new Uint8Array(FLASH_SIZE).fill(options.flashFill ?? ERASED);
    this.detach = transport.onData((bytes) => {
      this.queue.push(...bytes);
      this.wake();
    });
    this.done = this.serve().catch((e) => {
      if (!(e instanceof Stopped)) throw e;
    });
  }

  /** Stops serving; the transport stays open. */
  stop(): Promise<void> {
    this.stopped = true;
    this.detach();
    this.waiting?.reject(new Stopped());
    return this.done;
  }

  /** The flash bytes from `address`, `length` of them. */
  flashAt(address: number, length: number): Uint8Array {
    return this.flash.subarray(address - FLASH_ORIGIN, address - FLASH_ORIGIN + length);
  }

  private async serve(): Promise<void> {
    while (!this.stopped) {
      if (!this.synced) {
        // The ROM measures the baud rate on the first 0x7F after reset, and ignores anything else.
        const [b] = await this.take(1);
        if (b === SYNC) {
          this.event('sync');
          this.synced = true;
          this.reply(ACK);
        }
        continue;
      }
      if (this.startedAt !== null) {
        await this.take(1); // the firmware runs; it does not speak AN3155
        continue;
      }
      const [code, complement] = await this.take(2);
      const handler = this.handlers[code];
      if ((code ^ complement) !== 0xff || handler === undefined) {
        this.event(`refused ${commandName(code)} 0x${complement.toString(16)}`);
        this.reply(NACK);
        continue;
      }
      const name = commandName(code) as CommandName;
      if (this.fault(this.faults.nackCommand?.command === name, 'nackCommand', this.faults.nackCommand?.times)) {
        this.event(`${name}: NACK (fault)`);
        this.reply(NACK);
        continue;
      }
      await handler();
    }
  }

  private readonly handlers: Record<number, () => Promise<void>> = {
    [COMMANDS.GET]: async () => {
      const listed = Object.keys(this.handlers).map(Number);
      this.reply(ACK, listed.length, SIM_BOOTLOADER_VERSION, ...listed, ACK);
    },
    // The two option bytes are kept at 0 for compatibility (AN3155).
    [COMMANDS.GET_VERSION]: async () => this.reply(ACK, SIM_BOOTLOADER_VERSION, 0, 0, ACK),
    [COMMANDS.GET_ID]: async () => this.reply(ACK, 1, SIM_PRODUCT_ID >> 8, SIM_PRODUCT_ID & 0xff, ACK),
    [COMMANDS.READ_MEMORY]: async () => {
      const address = await this.protectedAddress('READ_MEMORY');
      if (address === null) return;
      const [n, complement] = await this.take(2);
      const memory = this.memory(address, n + 1);
      if ((n ^ complement) !== 0xff || memory === null) return this.reply(NACK);
      const data = Uint8Array.from(memory);
      const flip = this.faults.flipReadBit;
      if (flip && flip.address >= address && flip.address <= address + n && this.fault(true, 'flipReadBit', flip.times)) {
        data[flip.address - address] ^= 0x10;
      }
      this.event(`READ_MEMORY 0x${address.toString(16)} ${n + 1} bytes`);
      this.reply(ACK, ...data);
    },
    [COMMANDS.WRITE_MEMORY]: async () => {
      const address = await this.protectedAddress('WRITE_MEMORY');
      if (address === null) return;
      const [n] = await this.take(1);
      if (this.fault(this.faults.dropWriteByte !== undefined, 'dropWriteByte', this.faults.dropWriteByte?.times)) await this.take(1);
      const data = await this.take(n + 1);
      const [checksum] = await this.take(1);
      const memory = this.memory(address, n + 1);
      const block = this.faults.nackWriteBlock;
      if (checksum !== xor(data, n) || memory === null || address % WRITE_ALIGN !== 0 || (n + 1) % WRITE_ALIGN !== 0) return this.reply(NACK);
      if (this.fault(block?.address === address, 'nackWriteBlock', block?.times)) return this.reply(NACK);
      // Programming flash can only clear bits; RAM takes the bytes as they are.
      const inFlash = address >= FLASH_ORIGIN && address < FLASH_ORIGIN + FLASH_SIZE;
      data.forEach((b, i) => (memory[i] = inFlash ? memory[i] & b : b));
      this.event(`WRITE_MEMORY 0x${address.toString(16)} ${n + 1} bytes`);
      this.reply(ACK);
    },
    [COMMANDS.EXTENDED_ERASE]: async () => {
      if (this.refuseIfProtected('EXTENDED_ERASE')) return;
      this.reply(ACK);
      const [hi, lo] = await this.take(2);
      const count = (hi << 8) | lo;
      if (count >= ERASE_SPECIAL.BANK2) {
        const [checksum] = await this.take(1);
        // The F405 has one bank: only the mass erase applies.
        if (count !== ERASE_SPECIAL.MASS || checksum !== xor([hi, lo])) return this.reply(NACK);
        await this.massErase();
        return this.reply(ACK);
      }
      const pageBytes = await this.take(2 * (count + 1));
      const [checksum] = await this.take(1);
      const sectors = Array.from({ length: count + 1 }, (_, i) => (pageBytes[2 * i] << 8) | pageBytes[2 * i + 1]);
      if (checksum !== xor(pageBytes, xor([hi, lo])) || sectors.some((s) => s >= SECTOR_SIZES.length)) return this.reply(NACK);
      for (const s of sectors) {
        await sleep(this.faults.eraseMs ?? 0);
        const start = SECTOR_SIZES.slice(0, s).reduce((a, b) => a + b, 0);
        this.flash.fill(ERASED, start, start + SECTOR_SIZES[s]);
        this.erasedSectors.push(s);
        this.event(`EXTENDED_ERASE sector ${s}`);
      }
      this.reply(ACK);
    },
    [COMMANDS.GO]: async () => {
      const address = await this.protectedAddress('GO');
      if (address === null) return;
      this.event(`GO 0x${address.toString(16)}`);
      this.startedAt = address;
    },
    // Removing read protection erases the whole flash, then resets the device.
    [COMMANDS.READOUT_UNPROTECT]: async () => {
      this.reply(ACK);
      await this.massErase();
      this.readProtected = false;
      this.reply(ACK);
      this.event('READOUT_UNPROTECT: flash erased, reset');
      this.synced = false;
      this.resets++;
    },
  };

  /** ACKs the command and reads its address, or NACKs (read protection, a bad address) and returns null. */
  private async protectedAddress(name: CommandName): Promise<number | null> {
    if (this.refuseIfProtected(name)) return null;
    this.reply(ACK);
    const address = parseAddressFrame(Uint8Array.from(await this.take(5)));
    if (address === null || this.memory(address, 1) === null) {
      this.reply(NACK);
      return null;
    }
    this.reply(ACK);
    return address;
  }

  private refuseIfProtected(name: CommandName): boolean {
    if (!this.readProtected) return false;
    this.event(`${name}: NACK (read protection)`);
    this.reply(NACK);
    return true;
  }

  /** The memory `length` bytes from `address` fall in: flash or RAM, or null. */
  private memory(address: number, length: number): Uint8Array | null {
    for (const [origin, bytes] of [[FLASH_ORIGIN, this.flash], [RAM_ORIGIN, this.ram]] as const) {
      if (address >= origin && address + length <= origin + bytes.length) return bytes.subarray(address - origin, address - origin + length);
    }
    return null;
  }

  private async massErase(): Promise<void> {
    await sleep(this.faults.eraseMs ?? 0);
    this.flash.fill(ERASED);
    this.massErases++;
  }

  /** Whether a fault strikes now: it applies, and has struck fewer than `times` times. */
  private fault(applies: boolean, name: string, times = 0): boolean {
    if (!applies) return false;
    const count = this.counts.get(name) ?? 0;
    if (count >= times) return false;
    this.counts.set(name, count + 1);
    return true;
  }

  private reply(...bytes: number[]): void {
    if (!this.faults.silent) this.transport.write(Uint8Array.from(bytes));
  }

  private event(line: string): void {
    this.options.onEvent?.(line);
  }

  private take(n: number): Promise<number[]> {
    if (this.stopped) return Promise.reject(new Stopped());
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.wake();
    });
  }

  private wake(): void {
    if (this.waiting && this.queue.length >= this.waiting.n) {
      const { n, resolve } = this.waiting;
      this.waiting = null;
      resolve(this.queue.splice(0, n));
    }
  }
}
