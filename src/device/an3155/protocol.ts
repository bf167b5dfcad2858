// The byte values and frame layouts of the STM32 ROM bootloader's USART protocol (ST AN3155).
// The flasher and the test simulator both build and parse frames here, so the two cannot
// disagree on a byte without this file being wrong for both.

export const SYNC = 0x7f;
export const ACK = 0x79;
export const NACK = 0x1f;

export const COMMANDS = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  EXTENDED_ERASE: 0x44,
  READOUT_UNPROTECT: 0x92,
} as const;

export type CommandName = keyof typeof COMMANDS;

/** The most bytes one READ_MEMORY or WRITE_MEMORY frame carries. */
export const MAX_BLOCK = 256;

/** WRITE_MEMORY to flash takes whole 32-bit words. */
export const WRITE_ALIGN = 4;

/** EXTENDED_ERASE's special page counts: mass erase, bank 1, bank 2. */
export const ERASE_SPECIAL = { MASS: 0xffff, BANK1: 0xfffe, BANK2: 0xfffd } as const;

export function commandName(code: number): string {
  const entry = Object.entries(COMMANDS).find(([, c]) => c === code);
  return entry ? entry[0] : `0x${code.toString(16).padStart(2, '0')}`;
}

export function xor(bytes: ArrayLike<number>, seed = 0): number {
  let x = seed;
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i];
  return x & 0xff;
}

/** A command is its code followed by its complement. */
export function commandFrame(code: number): Uint8Array {
  return Uint8Array.of(code, code ^ 0xff);
}

/** Address, most significant byte first, then the XOR of the four bytes. */
export function addressFrame(address: number): Uint8Array {
  const bytes = [(address >>> 24) & 0xff, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
  return Uint8Array.of(...bytes, xor(bytes));
}

/** Decodes an address frame, or returns null when its checksum is wrong. */
export function parseAddressFrame(frame: Uint8Array): number | null {
  if (xor(frame.subarray(0, 4)) !== frame[4]) return null;
  return ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3]) >>> 0;
}

/** READ_MEMORY's length: bytes - 1, then its complement. */
export function readLengthFrame(length: number): Uint8Array {
  return Uint8Array.of(length - 1, (length - 1) ^ 0xff);
}

/** WRITE_MEMORY's payload: bytes - 1, the bytes, then the XOR of all of them including the count. */
export function writeDataFrame(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 2);
  frame[0] = data.length - 1;
  frame.set(data, 1);
  frame[data.length + 1] = xor(data, frame[0]);
  return frame;
}

/** EXTENDED_ERASE's payload: page count - 1 and each page number, 16-bit big-endian, then their XOR. */
export function eraseFrame(pages: readonly number[]): Uint8Array {
  const words = [pages.length - 1, ...pages];
  const frame = new Uint8Array(words.length * 2 + 1);
  words.forEach((w, i) => {
    frame[2 * i] = (w >> 8) & 0xff;
    frame[2 * i + 1] = w & 0xff;
  });
  frame[frame.length - 1] = xor(frame.subarray(0, frame.length - 1));
  return frame;
}

export const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
