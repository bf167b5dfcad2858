// A PNG decoder for calibration images: 8-bit grey, grey+alpha, RGB and RGBA, not interlaced.
// Anything else (palette, 16-bit, 1-4-bit, Adam7) is rejected with what to convert it to.

import { inflateSync } from 'node:zlib';
import { dataError } from '../ir/errors.ts';
import { crc32 } from '../ir/crc32.ts';

export interface Image {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** Row-major height x width x channels. */
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Partial<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };
/** Larger images are not calibration data for a microcontroller model; the bound also stops absurd allocations. */
const MAX_PIXELS = 1 << 26;

export function decodePng(bytes: Uint8Array, fileName: string): Image {
  const fail = (why: string): never => {
    throw dataError(`${fileName}: ${why}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: { width: number; height: number; channels: number } | undefined;
  const idat: Uint8Array[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) fail('truncated (no IEND chunk)');
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) fail('truncated chunk');
    const typeAndData = bytes.subarray(at + 4, at + 8 + length);
    const type = String.fromCharCode(...typeAndData.subarray(0, 4));
    if (crc32(typeAndData) !== view.getUint32(at + 8 + length)) fail(`chunk ${type} fails its CRC check (the file is corrupt)`);
    const data = typeAndData.subarray(4);
    if (type === 'IHDR') header = readHeader(data, fail);
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (!header) return fail('no IHDR chunk');
  const { width, height, channels } = header;
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  } catch {
    return fail('corrupt image data (IDAT does not inflate)');
  }
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) fail(`image data holds ${raw.length} bytes, ${height * (stride + 1)} expected`);
  return { width, height, channels, data: unfilter(raw, height, stride, channels, fail) };
}

function readHeader(data: Uint8Array, fail: (why: string) => never) {
  if (data.length !== 13) fail('IHDR chunk has the wrong size');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8);
  const channels = CHANNELS[colorType];
  if (colorType === 3) fail('palette PNGs are not supported; save the image as 8-bit grey or RGB');
  if (channels === undefined) fail(`unknown PNG colour type ${colorType}`);
  if (bitDepth !== 8) fail(`${bitDepth}-bit PNGs are not supported; save the image with 8 bits per channel`);
  if (interlace !== 0) fail('interlaced (Adam7) PNGs are not supported; save the image without interlacing');
  if (compression !== 0 || filter !== 0) fail('unknown PNG compression or filter method');
  if (width === 0 || height === 0 || width * height > MAX_PIXELS) fail(`image size ${width}x${height} is not supported`);
  return { width, height, channels: channels! };
}

/** Undoes the per-scanline filters (None, Sub, Up, Average, Paeth), byte distance = one pixel. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number, fail: (why: string) => never): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const left = x >= bpp ? out[row + x - bpp] : 0;
      const up = y > 0 ? out[row - stride + x] : 0;
      const upLeft = x >= bpp && y > 0 ? out[row - stride + x - bpp] : 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left;
          break;
        case 2:
          predicted = up;
          break;
        case 3:
          predicted = (left + up) >> 1;
          break;
        case 4:
          predicted = paeth(left, up, upLeft);
          break;
        default:
          return fail(`scanline ${y} has unknown filter type ${filter}`);
      }
      out[row + x] = line[x] + predicted;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
