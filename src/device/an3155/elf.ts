// The bytes an ELF file asks to be loaded, and where: its PT_LOAD segments with file contents,
// at their physical (load) addresses, which for initialised data is where the flash keeps it.

import { dataError } from '../../ir/errors.ts';

export interface Segment {
  address: number;
  data: Uint8Array;
}

const PT_LOAD = 1;
const EM_ARM = 40;
const PHDR_SIZE = 32;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** The loadable segments of a 32-bit little-endian Arm ELF file, in address order. */
export function loadSegments(bytes: Uint8Array, file: string): Segment[] {
  const bad = (why: string) => dataError(`${file} is not a firmware ELF file edgec can flash: ${why}`);
  if (!isElf(bytes) || bytes.length < 52) throw bad('no ELF header');
  if (bytes[4] !== 1 || bytes[5] !== 1) throw bad('not 32-bit little-endian (Cortex-M firmware is)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(18, true) !== EM_ARM) throw bad(`machine ${view.getUint16(18, true)} is not Arm (${EM_ARM})`);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phentsize < PHDR_SIZE || phoff + phnum * phentsize > bytes.length) throw bad('its program headers lie outside the file');
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const type = view.getUint32(at, true);
    const offset = view.getUint32(at + 4, true);
    const paddr = view.getUint32(at + 12, true);
    const filesz = view.getUint32(at + 16, true);
    if (type !== PT_LOAD || filesz === 0) continue;
    if (offset + filesz > bytes.length) throw bad(`segment ${i} lies outside the file`);
    segments.push({ address: paddr, data: bytes.subarray(offset, offset + filesz) });
  }
  if (segments.length === 0) throw bad('it has no loadable segment with contents');
  return segments.sort((a, b) => a.address - b.address);
}
