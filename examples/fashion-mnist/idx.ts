// The IDX format the MNIST family ships in: two zero bytes, a type byte, the number of dimensions,
// then one big-endian u32 per dimension and the data in C order. Only unsigned bytes (type 0x08)
// are read: every Fashion-MNIST file is that type, and a reader for the others would go untested.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EdgecError } from '../../src/ir/errors.ts';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

const fail = (fileName: string, why: string) => new EdgecError('data', `${fileName}: not a readable IDX file: ${why}`);

/** Parses an uncompressed IDX file; `expectedDims` (null entries are free) rejects a file of the wrong shape. */
export function parseIdx(bytes: Uint8Array, fileName: string, expectedDims?: (number | null)[]): IdxArray {
  if (bytes.length < 4) throw fail(fileName, `${bytes.length} bytes is shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw fail(fileName, `magic number starts 0x${hex(bytes[0])}${hex(bytes[1])}, not 0x0000`);
  }
  if (bytes[2] !== UBYTE) throw fail(fileName, `data type 0x${hex(bytes[2])} is not supported (only unsigned bytes, 0x08)`);
  const rank = bytes[3];
  const dataStart = 4 + 4 * rank;
  if (bytes.length < dataStart) throw fail(fileName, `truncated header: ${rank} dimensions need ${dataStart} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  if (expectedDims) {
    const matches = expectedDims.length === rank && expectedDims.every((d, i) => d === null || d === dims[i]);
    if (!matches) {
      const wanted = expectedDims.map((d) => (d === null ? 'N' : String(d))).join(', ');
      throw fail(fileName, `dimensions are [${dims.join(', ')}], expected [${wanted}]`);
    }
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - dataStart !== size) {
    throw fail(fileName, `dimensions [${dims.join(', ')}] need ${size} bytes of data, the file has ${bytes.length - dataStart}`);
  }
  return { dims, data: bytes.subarray(dataStart) };
}

/** Reads a gzipped IDX file (the form MNIST-style data sets are distributed in). */
export function readIdxGz(path: string, expectedDims?: (number | null)[]): IdxArray {
  let raw: Buffer;
  try {
    raw = gunzipSync(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code?.startsWith('Z_') ? `not valid gzip data (${(e as Error).message})` : String(e);
    throw new EdgecError('data', `${path}: cannot read the gzipped IDX file: ${why}`);
  }
  return parseIdx(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), path, expectedDims);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
