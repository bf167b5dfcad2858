// A build booted in its board's QEMU machine with the console UART on a pseudo-terminal, so that
// any serial client (a terminal, `edgec hil --port`, a third-party runner) talks to the emulated
// board as it would to a real one on a USB serial port.
//
// QEMU's pty behaves unlike a real port in ways a client may notice: what the firmware writes
// while no client has the pty open is lost (so a boot banner is usually missed), and QEMU looks
// for a client about once a second, so the first bytes sent can wait that long.

import { lstatSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readBuildFolder } from './build-folder.ts';
import { EdgecError, usageError } from '../ir/errors.ts';
import { loadBoard } from '../toolchain/board.ts';
import { startQemu } from '../toolchain/qemu.ts';

export interface EmulateOptions {
  /** A folder made by `edgec build` (it holds report.json and the firmware). */
  buildDir: string;
  /** A path to make a symbolic link to the pty, for clients that want a fixed name. */
  link?: string;
}

export interface Emulation {
  /** The pseudo-terminal the console UART is on (/dev/pts/N). */
  pty: string;
  model: string;
  board: string;
  machine: string;
  /** Settles when QEMU has gone: with the code the firmware passed to board_exit(), or null
   *  when stop() ended it. Rejects when QEMU itself failed. The link is gone by then. */
  exited: Promise<number | null>;
  /** Stops QEMU, removes the link, and waits for both. */
  stop(): Promise<void>;
}

/** The link is ours to replace only if it is a symbolic link; anything else there is the user's. */
function makeLink(link: string, target: string): void {
  let stat;
  try {
    stat = lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat && !stat.isSymbolicLink()) throw usageError(`--pty ${link}: a file is already there and is not a symbolic link; choose another path`);
  if (stat) unlinkSync(link);
  symlinkSync(target, link);
}

function removeLink(link: string, target: string): void {
  try {
    if (readlinkSync(link) === target) unlinkSync(link);
  } catch {
    // Already gone, or replaced by someone else: not ours to remove.
  }
}

const PTY_MESSAGE = /char device redirected to (\S+)/;

/** Boots the build and resolves once its console UART is on a pty (and the link made). */
export async function emulateBuild(o: EmulateOptions): Promise<Emulation> {
  const build = readBuildFolder(o.buildDir);
  // The folder's own copy of the board support, as it was built with.
  const board = loadBoard(build.report.board, join(o.buildDir, 'board'));
  const session = startQemu({ board, elf: build.elf, serial: 'pty' });
  session.endInput();

  let stdout = '';
  const pty = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      stdout += b.toString('utf8');
      const match = PTY_MESSAGE.exec(stdout);
      if (match) {
        session.output.off('data', onData);
        // QEMU writes nothing more here, but a full pipe would stall it: keep draining.
        session.output.resume();
        resolve(match[1]);
      }
    };
    session.output.on('data', onData);
    session.exited.then(
      ({ exitCode, stderr }) =>
        reject(new EdgecError('tool', `QEMU ended (exit code ${exitCode}) before it gave the console UART a pty`, stderr.split('\n').filter((l) => l.trim()))),
      reject,
    );
  });

  try {
    if (o.link) makeLink(o.link, pty);
  } catch (e) {
    await session.stop();
    throw e;
  }
  const cleanUp = () => {
    if (o.link) removeLink(o.link, pty);
  };
  const exited = session.exited.then(
    ({ exitCode }) => {
      cleanUp();
      return exitCode;
    },
    (e) => {
      cleanUp();
      throw e;
    },
  );
  // A caller that only calls stop() must not see a QEMU failure as an unhandled rejection.
  exited.catch(() => undefined);

  return {
    pty,
    model: build.report.model,
    board: board.name,
    machine: board.qemu?.machine ?? '',
    exited,
    stop: async () => {
      await session.stop();
      await exited.catch(() => undefined);
    },
  };
}
