// Bytes from a Transport, read a given number at a time with a deadline for each read: the
// bootloader answers in fixed-size pieces, and a piece that does not come is the error.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Transport } from '../transport.ts';

/** No answer (or not all of it) within the time allowed. */
export class ReadTimeout extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
    readonly timeoutMs: number,
  ) {
    super(`${got} of ${wanted} bytes within ${Math.ceil(timeoutMs)} ms`);
  }
}

export class ByteReader {
  private buffered: number[] = [];
  private waiter: (() => void) | null = null;
  private readonly detach: () => void;

  constructor(readonly transport: Transport) {
    this.detach = transport.onData((bytes) => {
      for (const b of bytes) this.buffered.push(b);
      this.waiter?.();
    });
  }

  /** Resolves with exactly `n` bytes, or rejects with ReadTimeout when they do not arrive in time. */
  async read(n: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.waiter) throw new Error('ByteReader: one read at a time');
    if (this.buffered.length < n) {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        // Timers run before pending input is read: when the process was busy past the deadline,
        // look at what arrived meanwhile (setImmediate comes after the input) before giving up.
        const timer = setTimeout(
          () =>
            setImmediate(() => {
              if (settled) return;
              settled = true;
              this.waiter = null;
              reject(new ReadTimeout(n, this.buffered.length, timeoutMs));
            }),
          timeoutMs,
        );
        this.waiter = () => {
          if (this.buffered.length < n) return;
          settled = true;
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
    return Uint8Array.from(this.buffered.splice(0, n));
  }

  /** Discards whatever has arrived and not been read (a late answer to an abandoned command). */
  discard(): number {
    return this.buffered.splice(0).length;
  }

  /**
   * Discards input until none has come for `quietMs` (or `maxMs` have passed): answers still on
   * their way to abandoned commands, which would otherwise be taken for answers to the next.
   */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    let heard: number;
    do {
      this.discard();
      await sleep(quietMs);
      await new Promise((resolve) => setImmediate(resolve));
      heard = this.buffered.length;
    } while (heard > 0 && Date.now() < deadline);
    this.discard();
  }

  /** Stops listening; the transport stays open. */
  close(): void {
    this.detach();
  }
}
