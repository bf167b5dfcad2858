// Consistent Overhead Byte Stuffing: a frame's bytes with every zero removed, so that a single
// 0x00 can end a frame and a receiver that lost its place resynchronises at the next one. The
// overhead is one byte per 254 bytes, plus the delimiter.

/** The encoded bytes of `data`, without the trailing delimiter. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + Math.ceil(data.length / 254) + 1);
  let codeAt = 0;
  let at = 1;
  let code = 1;
  for (const byte of data) {
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
      continue;
    }
    out[at++] = byte;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = at++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, at);
}

/** The bytes `encoded` stands for (no delimiter inside), or null when it is not valid COBS. */
export function cobsDecode(encoded: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(encoded.length);
  let at = 0;
  let i = 0;
  while (i < encoded.length) {
    const code = encoded[i++];
    if (code === 0 || i + code - 1 > encoded.length) return null;
    for (let k = 1; k < code; k++) {
      const byte = encoded[i++];
      if (byte === 0) return null;
      out[at++] = byte;
    }
    if (code !== 0xff && i < encoded.length) out[at++] = 0;
  }
  return out.subarray(0, at);
}
