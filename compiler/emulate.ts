// `edgec emulate`: a build running in QEMU with its console UART on a pseudo-terminal, until
// Ctrl-C (SIGINT) or SIGTERM, or until the firmware ends by itself.

import { EdgecError } from '../src/ir/errors.ts';
import { emulateBuild } from '../src/device/emulate.ts';
import { BOARD_EXIT_FAULT } from '../src/toolchain/board.ts';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function emulateCommand(buildDir: string, link: string | undefined, print: (line: string) => void): Promise<string> {
  // Listening before QEMU starts, so that a signal during start-up also stops it cleanly.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signalled = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    const emulation = await emulateBuild({ buildDir, link });
    print(`${emulation.pty}${link ? ` (linked from ${link})` : ''}`);
    print(`${emulation.model} runs on ${emulation.board} in QEMU ${emulation.machine}, its console UART on that pty; Ctrl-C stops it`);
    const outcome = await Promise.race([signalled.then((signal) => ({ signal })), emulation.exited.then((code) => ({ code }))]);
    if ('signal' in outcome) {
      await emulation.stop();
      return `stopped by ${outcome.signal}`;
    }
    if (outcome.code !== 0) {
      throw new EdgecError('model', `the firmware ended with exit code ${outcome.code}${outcome.code === BOARD_EXIT_FAULT ? ' (the CPU faulted)' : ''}`);
    }
    return 'the firmware ended with exit code 0';
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
