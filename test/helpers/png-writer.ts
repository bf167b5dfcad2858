// A test-only PNG writer for the kinds pngjs cannot encode (palette, Adam7 interlaced) and for
// exact 16-bit samples: every scanline filter in turn, so a decoder meets all five.

import { crc32, deflateSync } from 'node:zlib';

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Row-major height x width x channels samples (palette indices for colour type 3), each below 2^bitDepth. */
  samples: ArrayLike<number>;
  bitDepth?: 8 | 16;
  /** Colour type 3: RGB triplets. */
  palette?: Uint8Array;
  /** Colour type 3: the alpha of the first palette entries (a tRNS chunk). */
  transparency?: Uint8Array;
  /** Adam7 interlacing. */
  interlace?: boolean;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** Adam7's seven passes: first column and row, column and row steps. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Scanlines of one (sub)image, each with its filter byte, filters cycling None, Sub, Up, Average, Paeth. */
function filtered(width: number, height: number, bpp: number, bytes: Uint8Array): Uint8Array {
  const stride = width * bpp;
  const raw = new Uint8Array(height * (stride + 1));
  const at = (y: number, x: number) => (y >= 0 && x >= 0 ? bytes[y * stride + x] : 0);
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const [a, b, c] = [at(y, x - bpp), at(y - 1, x), at(y - 1, x - bpp)];
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      raw[y * (stride + 1) + 1 + x] = (bytes[y * stride + x] - [0, a, b, (a + b) >> 1, paeth][filter]) & 0xff;
    }
  }
  return raw;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

export function writePng(spec: PngSpec): Uint8Array {
  const { width, height, colorType } = spec;
  const depth = spec.bitDepth ?? 8;
  const channels = CHANNELS[colorType];
  const sampleBytes = depth / 8;
  const bpp = channels * sampleBytes;
  /** The pixels of columns x0, x0+dx, ... and rows y0, y0+dy, ... as big-endian bytes. */
  const subimage = (x0: number, y0: number, dx: number, dy: number) => {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    const bytes = new Uint8Array(Math.max(w, 0) * Math.max(h, 0) * bpp);
    let at = 0;
    for (let y = y0; y < height; y += dy) {
      for (let x = x0; x < width; x += dx) {
        for (let c = 0; c < channels; c++) {
          const v = spec.samples[(y * width + x) * channels + c];
          if (sampleBytes === 2) bytes[at++] = v >> 8;
          bytes[at++] = v & 0xff;
        }
      }
    }
    return { w, h, bytes };
  };
  // An empty pass contributes no bytes at all, not even filter bytes.
  const passes = spec.interlace ? ADAM7.map(([x0, y0, dx, dy]) => subimage(x0, y0, dx, dy)).filter((p) => p.w > 0 && p.h > 0) : [subimage(0, 0, 1, 1)];
  const raw = Buffer.concat(passes.map((p) => filtered(p.w, p.h, bpp, p.bytes)));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, colorType, 0, 0, spec.interlace ? 1 : 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(
    Buffer.concat([
      signature,
      chunk('IHDR', ihdr),
      ...(spec.palette ? [chunk('PLTE', spec.palette)] : []),
      ...(spec.transparency ? [chunk('tRNS', spec.transparency)] : []),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}
