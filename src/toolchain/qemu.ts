// Running firmware under QEMU. The console UART is QEMU's stdio over pipes: unlike a pty it
// loses no early output and adds no delay, and it is binary-clean. -icount makes execution
// deterministic and drives the board timers from the instruction count (what
// board_cycles() reads there); semihosting lets board_exit() end QEMU with the exit code.

import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EdgecError } from '../ir/errors.ts';
import type { Board } from './board.ts';
import { findTool } from './tools.ts';

export interface QemuOptions {
  board: Board;
  elf: string;
  /** The console UART's character device (default `stdio`: the session's output and write()). */
  serial?: string;
  /** A QEMU Machine Protocol socket (unix path), through which the board can be reset. */
  qmpSocket?: string;
  /** Stop QEMU and report a hung board when the firmware has not exited by then. */
  timeoutMs?: number;
}

export interface QemuExit {
  /** The code the firmware passed to board_exit(); null when stop() ended QEMU. */
  exitCode: number | null;
  /** QEMU's own messages. */
  stderr: string;
}

export interface QemuSession {
  readonly pid: number;
  /** Bytes the firmware writes to its console UART. Already flowing: attach at once. */
  readonly output: Readable;
  /** Sends bytes to the console UART. The UART drops bytes that arrive before the firmware
   *  has enabled its receiver, so wait for the firmware to announce itself first. */
  write(bytes: Uint8Array): void;
  /** Closes the console input. */
  endInput(): void;
  /** Settles when QEMU has gone; rejects with an EdgecError for a hung board or a QEMU failure. */
  readonly exited: Promise<QemuExit>;
  /** Kills QEMU and waits until it has gone. */
  stop(): Promise<void>;
}

type QemuProcess = ChildProcessByStdio<Writable, Readable, Readable>;

const running = new Set<QemuProcess>();
let killOnExitInstalled = false;

/** QEMU would keep running (and, with sleep=off, spinning a core) after Node exits. */
function killOnExit(): void {
  if (killOnExitInstalled) return;
  killOnExitInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** The QEMU machine that stands in for the board; a usage error for a build-only board. */
export function qemuMachine(board: Board): NonNullable<Board['qemu']> {
  if (board.qemu === null) {
    throw new EdgecError(
      'usage',
      `board ${board.name} has no QEMU machine (QEMU models no such part): it is build only; flash the build and run it on the board itself (edgec hil --port)`,
    );
  }
  return board.qemu;
}

export function qemuArgs(board: Board, elf: string, o: Pick<QemuOptions, 'serial' | 'qmpSocket'> = {}): string[] {
  const qemu = qemuMachine(board);
  return [
    '-M', qemu.machine,
    '-nographic',
    '-monitor', 'none',
    '-serial', o.serial ?? 'stdio',
    ...(o.qmpSocket ? ['-qmp', `unix:${o.qmpSocket},server=on,wait=off`] : []),
    '-semihosting-config', 'enable=on,target=native',
    '-icount', 'shift=0,align=off,sleep=off',
    ...qemu.extraArgs,
    '-kernel', elf,
  ];
}

const TAIL_BYTES = 400;

function describeTail(tail: Buffer): string {
  if (tail.length === 0) return 'no console output';
  return `last console output: ${JSON.stringify(tail.toString('latin1'))}`;
}

export function startQemu(o: QemuOptions): QemuSession {
  const args = qemuArgs(o.board, o.elf, o);
  if (!existsSync(o.elf)) throw new EdgecError('usage', `firmware not found: ${o.elf}`);
  const qemu = findTool('qemu-system-arm');
  const what = `${basename(o.elf)} on QEMU ${o.board.qemu?.machine}`;

  const child: QemuProcess = spawn(qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  killOnExit();
  // Writing after QEMU has gone raises EPIPE here; the exit status says what happened.
  child.stdin.on('error', () => {});

  let tail = Buffer.alloc(0);
  child.stdout.on('data', (b: Buffer) => {
    tail = Buffer.concat([tail, b]).subarray(-TAIL_BYTES);
  });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));

  let ending: 'stopped' | 'hung' | null = null;
  const timer =
    o.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          ending = 'hung';
          child.kill('SIGKILL');
        }, o.timeoutMs);

  const exited = new Promise<QemuExit>((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      running.delete(child);
    };
    child.on('error', (e) => {
      settle();
      reject(new EdgecError('tool', `could not start QEMU for ${what}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      settle();
      const messages = Buffer.concat(stderr).toString('utf8');
      const lines = messages.split('\n').filter((l) => l.trim() !== '');
      if (ending === 'hung') {
        reject(
          new EdgecError(
            'tool',
            `${what} did not exit within ${o.timeoutMs} ms: the board hung (it never called board_exit)`,
            [describeTail(tail), ...lines],
          ),
        );
      } else if (ending === 'stopped') {
        resolve({ exitCode: null, stderr: messages });
      } else if (code === null) {
        reject(new EdgecError('tool', `QEMU running ${what} was killed by ${signal}`, lines));
      } else if (code === 1 && /^qemu-system-arm: (?!warning)/m.test(messages)) {
        reject(new EdgecError('tool', `QEMU could not run ${what}`, lines));
      } else {
        resolve({ exitCode: code, stderr: messages });
      }
    });
  });

  // A caller that only reads the output and never awaits `exited` must not have a hung board
  // turn into an unhandled rejection that ends the whole process.
  exited.catch(() => undefined);

  return {
    pid: child.pid ?? -1,
    output: child.stdout,
    write: (bytes) => {
      child.stdin.write(bytes);
    },
    endInput: () => {
      child.stdin.end();
    },
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        ending ??= 'stopped';
        child.kill('SIGKILL');
      }
      await exited.catch(() => undefined);
    },
  };
}

export interface RunQemuOptions extends QemuOptions {
  /** Bytes for the console UART. */
  stdin?: Uint8Array;
  /** Send `stdin` once this has appeared in the output (default: on the first output byte),
   *  because the UART drops input that arrives before the firmware enables its receiver. */
  sendAfter?: Uint8Array | string;
  timeoutMs: number;
}

export interface QemuRun {
  exitCode: number;
  /** Everything the firmware wrote to its console UART. */
  stdout: Uint8Array;
  stderr: string;
}

/** Runs firmware to completion: feeds it `stdin`, collects its output and its exit code. */
export async function runQemu(o: RunQemuOptions): Promise<QemuRun> {
  const session = startQemu(o);
  const chunks: Buffer[] = [];
  const input = o.stdin;
  const marker = o.sendAfter === undefined ? null : Buffer.from(o.sendAfter);
  let pending = input !== undefined && input.length > 0;
  if (!pending) session.endInput();
  session.output.on('data', (b: Buffer) => {
    chunks.push(b);
    if (pending && (marker === null || Buffer.concat(chunks).includes(marker))) {
      pending = false;
      session.write(input as Uint8Array);
      session.endInput();
    }
  });
  const { exitCode, stderr } = await session.exited;
  return { exitCode: exitCode ?? -1, stdout: new Uint8Array(Buffer.concat(chunks)), stderr };
}
