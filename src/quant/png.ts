// PNG calibration images through pngjs, a maintained decoder: every kind a camera pipeline or an
// image editor saves (grey, grey+alpha, RGB, RGBA, palette, 1- to 16-bit, Adam7 interlaced) comes
// out as 8-bit samples, with the channels the file holds.

import { PNG } from 'pngjs';
import { dataError } from '../ir/errors.ts';

export interface Image {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (a palette image is RGB, or RGBA with transparency). */
  channels: number;
  /**
   * Row-major height x width x channels, 8 bits a sample: 16-bit samples are scaled to the
   * nearest 8-bit value (v * 255 / 65535, halves up), 1- to 4-bit ones stretched to 0..255.
   */
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Larger images are not calibration data for a microcontroller model; the bound also stops absurd allocations. */
const MAX_PIXELS = 1 << 26;

export function decodePng(bytes: Uint8Array, fileName: string): Image {
  const fail = (why: string): never => {
    throw dataError(`${fileName}: ${why}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file (bad signature)');
  // The header (IHDR, always first) before the decoder allocates anything.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    if (width === 0 || height === 0 || width * height > MAX_PIXELS) fail(`image size ${width}x${height} is not supported`);
  }
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // pngjs checks chunk CRCs only when asked: a corrupt file must not pass as an image.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
  } catch (e) {
    return fail(`not a readable PNG (the file is corrupt or cut short): ${(e as Error).message}`);
  }
  // pngjs gives RGBA whatever the file holds; keep the channels the file has.
  const { color, alpha, transColor } = png as typeof png & { transColor?: number[] };
  const channels = (color ? 3 : 1) + (alpha || transColor ? 1 : 0);
  const take = channels === 1 ? [0] : channels === 2 ? [0, 3] : channels === 3 ? [0, 1, 2] : [0, 1, 2, 3];
  const pixels = png.width * png.height;
  const data = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) data[p * channels + c] = png.data[p * 4 + take[c]];
  }
  return { width: png.width, height: png.height, channels, data };
}
