// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): ZIP entries, PNG chunks and the HIL frames
// carry it. Node computes it (zlib.crc32); the nibble table the C side of the HIL protocol uses is
// derived here from the polynomial.

import { crc32 as zlibCrc32 } from 'node:zlib';

export const CRC32_POLYNOMIAL = 0xedb88320;

/** The CRC register after `bits` shifts of `value`: the entry of a table that consumes `bits` bits a step. */
export function crc32Step(value: number, bits: number): number {
  let c = value;
  for (let k = 0; k < bits; k++) c = c & 1 ? CRC32_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
}

/** CRC of `bytes`, continuing from `crc` (the CRC of what came before, 0 at the start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32(bytes, crc) >>> 0;
}
