// The arm-none-eabi-gcc flags a board implies. One list serves compiling and linking: gcc
// ignores the link options under -c, and nano.specs also selects newlib-nano's headers.

import type { Board } from './board.ts';
import { boardLinkerScript, commonDir } from './board.ts';

export function armGccFlags(board: Board): string[] {
  const float =
    board.fpu === 'none' ? ['-mfloat-abi=soft'] : [`-mfpu=${board.fpu}`, `-mfloat-abi=${board.floatAbi}`];
  return [
    `-mcpu=${board.cpu}`,
    '-mthumb',
    ...float,
    '-O2',
    '-g',
    // Float models must round like the host reference: no fused multiply-add contraction.
    '-ffp-contract=off',
    '-ffunction-sections',
    '-fdata-sections',
    '-fstack-usage',
    '-nostartfiles',
    '--specs=nano.specs',
    '-Wl,--gc-sections',
    // The board's linker.ld INCLUDEs the shared section layout from the common folder.
    `-L${commonDir(board)}`,
    `-T${boardLinkerScript(board)}`,
  ];
}
