// A proxy between the HIL host and an emulated board that damages the link on purpose: it drops,
// corrupts, duplicates and inserts bytes in both directions, resets the board in the middle of a
// transfer, or swallows everything (a board gone silent). Seeded, so a failure reproduces.

import type { EmulatedBoard } from '../../src/device/qemu-board.ts';
import type { Transport } from '../../src/device/transport.ts';
import { random } from './op-graphs.ts';

export interface Faults {
  seed: number;
  /** Chance per byte, in each direction. */
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  /** Chance per byte of a burst of 1-8 random bytes (zeros included) before it. */
  insert?: number;
  /** Reset the board while every n-th frame from the host is on its way. */
  resetEvery?: number;
  /** After this many frames from the host, nothing more gets through in either direction. */
  silentAfter?: number;
}

export interface FaultCounts {
  dropped: number;
  corrupted: number;
  duplicated: number;
  inserted: number;
  resets: number;
  swallowed: number;
}

export interface FaultProxy extends Transport {
  readonly counts: FaultCounts;
}

export function faultProxy(board: EmulatedBoard, faults: Faults): FaultProxy {
  const rand = random(faults.seed);
  const counts: FaultCounts = { dropped: 0, corrupted: 0, duplicated: 0, inserted: 0, resets: 0, swallowed: 0 };
  let frames = 0;
  const silent = () => faults.silentAfter !== undefined && frames > faults.silentAfter;

  const damage = (bytes: Uint8Array): Uint8Array => {
    const out: number[] = [];
    for (const byte of bytes) {
      if (faults.insert && rand() < faults.insert) {
        const n = 1 + Math.floor(rand() * 8);
        for (let k = 0; k < n; k++) out.push(rand() < 0.25 ? 0 : Math.floor(rand() * 256));
        counts.inserted++;
      }
      if (faults.drop && rand() < faults.drop) {
        counts.dropped++;
        continue;
      }
      let b = byte;
      if (faults.corrupt && rand() < faults.corrupt) {
        b ^= 1 << Math.floor(rand() * 8);
        counts.corrupted++;
      }
      out.push(b);
      if (faults.duplicate && rand() < faults.duplicate) {
        out.push(b);
        counts.duplicated++;
      }
    }
    return Uint8Array.from(out);
  };

  return {
    name: `${board.name} behind a fault-injecting proxy`,
    counts,
    gone: board.gone,
    write(bytes) {
      frames++;
      if (silent()) {
        counts.swallowed += bytes.length;
        return;
      }
      board.write(damage(bytes));
      if (faults.resetEvery && frames % faults.resetEvery === 0) {
        // The UART takes ~0.1 s to move a frame into the board: a reset a few ms later lands mid-frame.
        setTimeout(() => {
          counts.resets++;
          board.reset().catch(() => {});
        }, 5 + Math.floor(rand() * 40));
      }
    },
    onData(listener) {
      return board.onData((bytes) => {
        if (silent()) {
          counts.swallowed += bytes.length;
          return;
        }
        const damaged = damage(bytes);
        if (damaged.length) listener(damaged);
      });
    },
    close: () => board.close(),
  };
}
