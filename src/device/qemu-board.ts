// A board in QEMU as a Transport: its console UART over QEMU's stdio (binary-clean, nothing lost
// before the host listens, no pty delay) and its reset line over the QEMU Machine Protocol.

import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgecError } from '../ir/errors.ts';
import { startQemu, type Board } from '../toolchain/index.ts';
import type { Transport } from './transport.ts';

export interface EmulatedBoard extends Transport {
  readonly pid: number;
  /** Restarts the board as its reset pin would: the firmware boots again and says HELLO. */
  reset(): Promise<void>;
}

/** Sends QMP commands in order over the machine's control socket and waits for each reply. */
async function qmp(socket: string, commands: string[]): Promise<void> {
  const conn = createConnection(socket);
  let text = '';
  const replies: ((line: string) => void)[] = [];
  conn.on('data', (b) => {
    text += b.toString('utf8');
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.includes('"return"') || line.includes('"error"') || line.includes('"QMP"')) replies.shift()?.(line);
    }
  });
  const reply = () => new Promise<string>((resolve) => replies.push(resolve));
  const failed = new Promise<never>((_, reject) => conn.on('error', (e) => reject(new EdgecError('tool', `QEMU control socket: ${e.message}`))));
  try {
    await Promise.race([reply(), failed]);
    for (const execute of ['qmp_capabilities', ...commands]) {
      const answer = reply();
      conn.write(JSON.stringify({ execute }) + '\n');
      const line = await Promise.race([answer, failed]);
      if (line.includes('"error"')) throw new EdgecError('tool', `QEMU refused ${execute}: ${line}`);
    }
  } finally {
    conn.destroy();
  }
}

export function startEmulatedBoard(board: Board, elf: string): EmulatedBoard {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-qmp-'));
  const qmpSocket = join(dir, 'qmp.sock');
  const session = startQemu({ board, elf, qmpSocket });
  const listeners = new Set<(bytes: Uint8Array) => void>();
  session.output.on('data', (b: Buffer) => {
    for (const listener of listeners) listener(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  });
  const gone = session.exited.then(
    ({ exitCode, stderr }) =>
      exitCode === null ? 'QEMU was stopped' : `the firmware ended with exit code ${exitCode}${stderr.trim() ? ` (${stderr.trim().split('\n').pop()})` : ''}`,
    (e: Error) => e.message,
  );
  const name = `${board.name} in QEMU ${board.qemu?.machine}`;
  return {
    name,
    pid: session.pid,
    gone,
    write: (bytes) => session.write(bytes),
    onData: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reset: () => qmp(qmpSocket, ['system_reset']),
    close: async () => {
      await session.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
