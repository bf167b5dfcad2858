// Reading a firmware's memory use from `arm-none-eabi-size` (Berkeley format).

import { EdgecError } from '../ir/errors.ts';

export interface FirmwareSize {
  /** Code and constants (weights included), in flash. */
  text: number;
  /** Initialised variables: stored in flash, copied to RAM at reset. */
  data: number;
  /** Zero-initialised variables (the activation arena included), in RAM. */
  bss: number;
  /** Flash used: text + data. */
  flash: number;
  /** Static RAM used: data + bss (the stack comes on top). */
  ram: number;
}

/** Parses the output of `arm-none-eabi-size -B <one file>`. */
export function parseSizeOutput(output: string): FirmwareSize {
  const row = output
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((cols) => cols.length >= 3 && cols.slice(0, 3).every((c) => /^\d+$/.test(c)));
  if (row === undefined) {
    throw new EdgecError('tool', 'could not read the size tool output', output.split('\n'));
  }
  const [text, data, bss] = row.slice(0, 3).map(Number);
  return { text, data, bss, flash: text + data, ram: data + bss };
}
