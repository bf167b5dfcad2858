// The ROM bootloader's commands, one method each, over a Transport (AN3155). A method sends its
// frames and checks every answer; a refused or missing answer is a CommandError saying which
// command, at which stage, and how. Retrying is the caller's decision (see flash.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Transport } from '../transport.ts';
import {
  ACK,
  addressFrame,
  COMMANDS,
  commandFrame,
  eraseFrame,
  MAX_BLOCK,
  NACK,
  readLengthFrame,
  SYNC,
  writeDataFrame,
  type CommandName,
} from './protocol.ts';
import { ByteReader, ReadTimeout } from './reader.ts';
import { ANSWER_MS, lineMs, readBlockMs, SETTLE_MAX_MS, SYNC_ANSWER_MS, UNPROTECT_MS, writeBlockMs } from './timing.ts';

/** Which frame of a command went unanswered or was refused. */
export type Stage = 'command' | 'address' | 'length' | 'data' | 'answer';
export type Failure = 'nack' | 'timeout' | 'garbage';

export class CommandError extends Error {
  constructor(
    readonly command: CommandName,
    readonly stage: Stage,
    readonly failure: Failure,
    readonly address: number | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

export interface BootloaderInfo {
  /** Bootloader version, e.g. 0x31 for 3.1. */
  version: number;
  /** Command codes the bootloader lists as supported. */
  commands: number[];
}

export class Bootloader {
  private readonly reader: ByteReader;

  /** @param baud the line's speed, for the time bytes in flight take */
  constructor(
    readonly transport: Transport,
    private readonly baud: number,
  ) {
    this.reader = new ByteReader(transport);
  }

  /**
   * Sends the sync byte until the device answers, at most `rounds` times. ACK means it just
   * measured the baud rate; NACK means it was already synced and took the byte as a command.
   * Returns false when nothing answered.
   */
  async sync(rounds: number): Promise<boolean> {
    let unanswered = false;
    for (let round = 0; round < rounds; round++) {
      // A synced device waits for a command's second byte after one sync byte, and refuses the
      // pair after a second: so one unanswered byte earns a second before the round counts as lost.
      for (let tries = 0; tries < 2; tries++) {
        // An answer that missed its deadline must not pass for the answer to the next byte.
        if (unanswered) await this.reader.settle(SYNC_ANSWER_MS, SETTLE_MAX_MS);
        else this.reader.discard();
        this.transport.write(Uint8Array.of(SYNC));
        const answer = await this.reader.read(1, SYNC_ANSWER_MS).catch((e) => {
          if (e instanceof ReadTimeout) return null;
          throw e;
        });
        unanswered = answer === null;
        if (answer === null) continue;
        if (answer[0] === ACK || answer[0] === NACK) return true;
        break;
      }
    }
    return false;
  }

  /**
   * Brings a device back to waiting for a command after an answer went missing, which may have
   * left it inside a frame: enough sync bytes to complete any frame (it refuses the result),
   * then, once its answers to them have stopped, a sync.
   */
  async recover(rounds: number): Promise<boolean> {
    const flood = MAX_BLOCK + 2;
    this.reader.discard();
    this.transport.write(new Uint8Array(flood).fill(SYNC));
    await sleep(lineMs(flood, this.baud));
    await this.reader.settle(SYNC_ANSWER_MS, SETTLE_MAX_MS);
    return this.sync(rounds);
  }

  async get(): Promise<BootloaderInfo> {
    await this.command('GET');
    const [count] = await this.answer('GET', 1);
    const bytes = await this.answer('GET', count + 1);
    await this.ack('GET', 'answer', ANSWER_MS);
    return { version: bytes[0], commands: [...bytes.subarray(1)] };
  }

  /** The bootloader version (GET_VERSION also sends two option bytes, which AN3155 keeps at 0). */
  async getVersion(): Promise<number> {
    await this.command('GET_VERSION');
    const [version] = await this.answer('GET_VERSION', 3);
    await this.ack('GET_VERSION', 'answer', ANSWER_MS);
    return version;
  }

  /** The product id (PID), e.g. 0x413 for STM32F405/407. */
  async getId(): Promise<number> {
    await this.command('GET_ID');
    const [count] = await this.answer('GET_ID', 1);
    const pid = await this.answer('GET_ID', count + 1);
    await this.ack('GET_ID', 'answer', ANSWER_MS);
    return pid.reduce((id, b) => id * 256 + b, 0);
  }

  async readMemory(address: number, length: number): Promise<Uint8Array> {
    await this.command('READ_MEMORY', address);
    await this.send('READ_MEMORY', 'address', addressFrame(address), ANSWER_MS, address);
    await this.send('READ_MEMORY', 'length', readLengthFrame(length), ANSWER_MS, address);
    return this.answer('READ_MEMORY', length, readBlockMs(length, this.baud), address);
  }

  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    await this.command('WRITE_MEMORY', address);
    await this.send('WRITE_MEMORY', 'address', addressFrame(address), ANSWER_MS, address);
    await this.send('WRITE_MEMORY', 'data', writeDataFrame(data), writeBlockMs(data.length, this.baud), address);
  }

  /** Erases flash sectors (AN3155 calls them pages) by number; answers once they are erased. */
  async eraseSectors(sectors: number[], timeoutMs: number, address: number): Promise<void> {
    await this.command('EXTENDED_ERASE', address);
    await this.send('EXTENDED_ERASE', 'data', eraseFrame(sectors), timeoutMs, address);
  }

  /** Starts the program whose vector table is at `address`; the bootloader is gone afterwards. */
  async go(address: number): Promise<void> {
    await this.command('GO', address);
    await this.send('GO', 'address', addressFrame(address), ANSWER_MS, address);
  }

  /** Removes read protection by mass-erasing the flash; the device then resets and needs a new sync. */
  async readoutUnprotect(): Promise<void> {
    await this.command('READOUT_UNPROTECT');
    await this.ack('READOUT_UNPROTECT', 'answer', UNPROTECT_MS);
  }

  /** Stops listening to the transport (which the caller owns and closes). */
  close(): void {
    this.reader.close();
  }

  private command(name: CommandName, address?: number): Promise<void> {
    this.reader.discard();
    return this.send(name, 'command', commandFrame(COMMANDS[name]), ANSWER_MS, address);
  }

  private send(name: CommandName, stage: Stage, frame: Uint8Array, timeoutMs: number, address?: number): Promise<void> {
    this.transport.write(frame);
    return this.ack(name, stage, timeoutMs, address);
  }

  private async ack(name: CommandName, stage: Stage, timeoutMs: number, address?: number): Promise<void> {
    const [answer] = await this.answer(name, 1, timeoutMs, address, stage);
    if (answer === ACK) return;
    if (answer === NACK) throw new CommandError(name, stage, 'nack', address, `NACK to the ${stage}`);
    throw new CommandError(name, stage, 'garbage', address, `0x${answer.toString(16).padStart(2, '0')} instead of ACK to the ${stage}`);
  }

  private async answer(name: CommandName, length: number, timeoutMs = ANSWER_MS, address?: number, stage: Stage = 'answer'): Promise<Uint8Array> {
    try {
      return await this.reader.read(length, timeoutMs);
    } catch (e) {
      if (!(e instanceof ReadTimeout)) throw e;
      const what = stage === 'answer' ? 'its answer' : `ACK to the ${stage}`;
      const partial = e.got > 0 ? ` (${e.got} of ${e.wanted} bytes came)` : '';
      throw new CommandError(name, stage, 'timeout', address, `no ${what} within ${Math.ceil(timeoutMs)} ms${partial}`);
    }
  }
}
