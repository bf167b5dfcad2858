// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): ZIP entries, PNG chunks and the HIL frames carry it.

export const CRC32_POLYNOMIAL = 0xedb88320;

/** The CRC register after `bits` shifts of `value`: the entry of a table that consumes `bits` bits a step. */
export function crc32Step(value: number, bits: number): number {
  let c = value;
  for (let k = 0; k < bits; k++) c = c & 1 ? CRC32_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
}

const TABLE = Uint32Array.from({ length: 256 }, (_, n) => crc32Step(n, 8));

/** CRC of `bytes`, continuing from `crc` (the CRC of what came before, 0 at the start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
