// A ZIP archive reader for .npz files: the central directory (ZIP64 included: numpy always writes
// ZIP64 entries), stored and deflated entries, CRC-checked. Encrypted, multi-disk and other
// compression methods are rejected by name.

import { inflateRawSync } from 'node:zlib';
import { dataError } from '../ir/errors.ts';
import { crc32 } from '../ir/crc32.ts';

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const STORED = 0;
const DEFLATED = 8;
/** A 16- or 32-bit field holding its maximum says "the real value is in the ZIP64 record". */
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeader: number;
}

/** Entry name -> uncompressed bytes. */
export function readZip(bytes: Uint8Array, fileName: string): Map<string, Uint8Array> {
  const fail = (why: string): never => {
    throw dataError(`${fileName}: not a readable zip (.npz) archive: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('a ZIP64 size or offset is too large');
    return Number(v);
  };
  const within = (at: number, length: number) => {
    if (at < 0 || length < 0 || at + length > bytes.length) fail('a record runs past the end of the file');
  };

  const end = findEndRecord(bytes, u32);
  if (end < 0) fail('no end-of-central-directory record');
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) fail('multi-disk archives are not supported');
  let count = u16(end + 10);
  let directory = u32(end + 16);
  if (count === U16_MAX || directory === U32_MAX || u32(end + 12) === U32_MAX) {
    const locator = end - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR) fail('ZIP64 fields without a ZIP64 locator');
    const record = u64(locator + 8);
    within(record, 56);
    if (u32(record) !== ZIP64_END_OF_CENTRAL_DIRECTORY) fail('the ZIP64 locator points at no ZIP64 end record');
    count = u64(record + 32);
    directory = u64(record + 48);
  }

  const entries: Entry[] = [];
  let at = directory;
  for (let i = 0; i < count; i++) {
    within(at, 46);
    if (u32(at) !== CENTRAL_HEADER) fail(`central directory entry ${i} has a bad signature`);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    within(at + 46, nameLength + extraLength);
    const entry: Entry = {
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      flags: u16(at + 8),
      method: u16(at + 10),
      crc: u32(at + 16),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      localHeader: u32(at + 42),
    };
    readZip64Extra(entry, at + 46 + nameLength, extraLength, u16, u64);
    entries.push(entry);
    at += 46 + nameLength + extraLength + u16(at + 32);
  }

  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    const where = `entry '${entry.name}'`;
    if (entry.flags & 1) fail(`${where} is encrypted`);
    within(entry.localHeader, 30);
    if (u32(entry.localHeader) !== LOCAL_HEADER) fail(`${where} has no local header where the directory says`);
    // Sizes come from the central directory: local headers of streamed entries hold zeros.
    const start = entry.localHeader + 30 + u16(entry.localHeader + 26) + u16(entry.localHeader + 28);
    within(start, entry.compressedSize);
    const stored = bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === STORED) data = stored;
    else if (entry.method === DEFLATED) data = inflate(stored, () => fail(`${where}: corrupt deflate data`));
    else data = fail(`${where} uses compression method ${entry.method}; only stored and deflated entries are supported (np.savez, np.savez_compressed)`);
    if (data.length !== entry.size) fail(`${where} holds ${data.length} bytes, the directory says ${entry.size}`);
    if (crc32(data) !== entry.crc) fail(`${where} fails its CRC check (the file is corrupt)`);
    files.set(entry.name, data);
  }
  return files;
}

/** The end record sits in the last 22 bytes plus a comment of up to 64 KiB; the last signature wins. */
function findEndRecord(bytes: Uint8Array, u32: (at: number) => number): number {
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= lowest; at--) if (u32(at) === END_OF_CENTRAL_DIRECTORY) return at;
  return -1;
}

/** The ZIP64 extra field holds, in this order, only the values whose 32-bit fields are saturated. */
function readZip64Extra(entry: Entry, at: number, length: number, u16: (at: number) => number, u64: (at: number) => number): void {
  const end = at + length;
  while (at + 4 <= end) {
    const id = u16(at);
    const size = u16(at + 2);
    if (id === ZIP64_EXTRA) {
      let field = at + 4;
      const next = () => {
        const v = field + 8 <= at + 4 + size ? u64(field) : U32_MAX;
        field += 8;
        return v;
      };
      if (entry.size === U32_MAX) entry.size = next();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next();
      if (entry.localHeader === U32_MAX) entry.localHeader = next();
      return;
    }
    at += 4 + size;
  }
}

function inflate(data: Uint8Array, onError: () => never): Uint8Array {
  try {
    return new Uint8Array(inflateRawSync(data));
  } catch {
    return onError();
  }
}
