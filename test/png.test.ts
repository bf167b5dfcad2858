// PNG calibration images: every kind a decoder meets (grey, grey+alpha, RGB, RGBA, palette with and
// without transparency, 16-bit, Adam7 interlaced) from fixtures made here, by pngjs's own encoder and
// by a test writer for what it cannot encode; and broken files rejected with the file named.

import test from 'ava';
import { PNG } from 'pngjs';
import { EdgecError } from '../src/ir/errors.ts';
import { decodePng } from '../src/quant/png.ts';
import { writePng } from './helpers/png-writer.ts';
import { random, randomBelow } from './helpers/random.ts';

const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 } as const;

/** Seeded samples below `limit`. */
function samples(count: number, seed: number, limit = 256): number[] {
  const rand = random(seed);
  return Array.from({ length: count }, () => randomBelow(rand, limit));
}

/** pngjs's scaling of a 16-bit sample to 8 bits, as decodePng documents it: v * 255 / 65535, halves up. */
const to8 = (v: number) => Math.floor((v * 255) / 65535 + 0.5);

test('8-bit grey, grey+alpha, RGB and RGBA with every scanline filter', (t) => {
  for (const [type, channels] of Object.entries(CHANNELS)) {
    const pixels = samples(7 * 6 * channels, channels);
    const image = decodePng(writePng({ width: 7, height: 6, colorType: Number(type) as 0, samples: pixels }), 'x.png');
    t.deepEqual([image.width, image.height, image.channels], [7, 6, channels]);
    t.deepEqual(Array.from(image.data), pixels, `colour type ${type}`);
  }
});

test("pngjs's own encoder: each colour type at 8 and 16 bits comes back as the file's channels", (t) => {
  const [width, height] = [5, 4];
  const random = samples(width * height * 4, 9);
  for (const [type, channels] of Object.entries(CHANNELS)) {
    // Opaque input for the types without alpha, which pngjs would otherwise blend onto white.
    const rgba = channels % 2 === 0 ? random : random.map((v, i) => (i % 4 === 3 ? 255 : v));
    for (const bitDepth of [8, 16] as const) {
      // pngjs encodes from RGBA: 8-bit values in a Buffer, or 16-bit ones in a Uint16Array's bytes.
      const png = new PNG({ width, height });
      const wide = Uint16Array.from(rgba, (v) => v * 257);
      const file = PNG.sync.write(
        Object.assign(png, { data: bitDepth === 8 ? Buffer.from(rgba) : Buffer.from(wide.buffer) }),
        { colorType: Number(type) as 0 | 2 | 4 | 6, bitDepth, inputHasAlpha: true },
      );
      const image = decodePng(new Uint8Array(file), 'k.png');
      t.is(image.channels, channels, `colour type ${type}, ${bitDepth}-bit`);
      const pixel = (p: number) => Array.from(image.data.subarray(p * channels, (p + 1) * channels));
      for (const p of [0, 7, width * height - 1]) {
        const [r, g, b, a] = rgba.slice(p * 4, p * 4 + 4);
        // pngjs writes grey as the mean of R, G and B, truncated.
        const grey = Math.floor((r + g + b) / 3);
        const want = { 0: [grey], 2: [r, g, b], 4: [grey, a], 6: [r, g, b, a] }[type as '0']!;
        t.deepEqual(pixel(p).map((v, i) => Math.abs(v - want[i]) <= 1), want.map(() => true), `colour type ${type}, ${bitDepth}-bit, pixel ${p}`);
      }
    }
  }
});

test('16-bit samples are scaled to the nearest 8-bit value, halves up', (t) => {
  const edge = [0, 65535, 128, 129, 257 * 100, 257 * 100 + 128, 257 * 100 + 129, 32767, 32768, 65407, 65408];
  const pixels = [...edge, ...samples(4 * 4 * 3 - edge.length, 16, 65536)];
  for (const colorType of [0, 2, 4, 6] as const) {
    const channels = CHANNELS[colorType];
    const count = 4 * 4 * channels;
    const values = Array.from({ length: count }, (_, i) => pixels[i % pixels.length]);
    const image = decodePng(writePng({ width: 4, height: 4, colorType, samples: values, bitDepth: 16 }), 's.png');
    t.is(image.channels, channels);
    t.deepEqual(Array.from(image.data), values.map(to8), `colour type ${colorType}`);
  }
  t.deepEqual([128, 129].map(to8), [0, 1]);
});

test('palette images become RGB, or RGBA when the palette has transparency', (t) => {
  const palette = Uint8Array.from(samples(16 * 3, 3));
  const indices = samples(6 * 5, 4, 16);
  const rgb = decodePng(writePng({ width: 6, height: 5, colorType: 3, samples: indices, palette }), 'p.png');
  t.is(rgb.channels, 3);
  t.deepEqual(Array.from(rgb.data), indices.flatMap((i) => Array.from(palette.subarray(3 * i, 3 * i + 3))));
  // tRNS gives the first entries' alpha; the others are opaque.
  const transparency = Uint8Array.of(0, 64, 128);
  const rgba = decodePng(writePng({ width: 6, height: 5, colorType: 3, samples: indices, palette, transparency }), 'pt.png');
  t.is(rgba.channels, 4);
  t.deepEqual(Array.from(rgba.data), indices.flatMap((i) => [...palette.subarray(3 * i, 3 * i + 3), transparency[i] ?? 255]));
});

test('Adam7 interlaced images decode to the same pixels as plain ones, at sizes that leave passes empty', (t) => {
  for (const [width, height] of [[11, 9], [3, 2], [1, 1], [8, 8]]) {
    for (const colorType of [0, 2, 4, 6] as const) {
      for (const bitDepth of [8, 16] as const) {
        const values = samples(width * height * CHANNELS[colorType], width * 100 + colorType, bitDepth === 8 ? 256 : 65536);
        const spec = { width, height, colorType, samples: values, bitDepth };
        const plain = decodePng(writePng(spec), 'plain.png');
        const interlaced = decodePng(writePng({ ...spec, interlace: true }), 'adam7.png');
        t.deepEqual(interlaced, plain, `${width}x${height}, colour type ${colorType}, ${bitDepth}-bit`);
        t.deepEqual(Array.from(plain.data), bitDepth === 8 ? values : values.map(to8));
      }
    }
  }
  const indices = samples(11 * 9, 5, 4);
  const palette = Uint8Array.of(0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255);
  const image = decodePng(writePng({ width: 11, height: 9, colorType: 3, samples: indices, palette, interlace: true }), 'pi.png');
  t.deepEqual(Array.from(image.data), indices.flatMap((i) => Array.from(palette.subarray(3 * i, 3 * i + 3))));
});

test('broken files are data errors naming the file', (t) => {
  const good = writePng({ width: 4, height: 4, colorType: 2, samples: samples(48, 1) });
  const corrupt = good.slice();
  corrupt[40] ^= 1;
  const fails = (bytes: Uint8Array, message: RegExp) => {
    const error = t.throws(() => decodePng(bytes, 'bad.png'), { instanceOf: EdgecError });
    t.is(error?.kind, 'data');
    t.regex(error?.message ?? '', message);
  };
  fails(corrupt, /^bad\.png: not a readable PNG \(the file is corrupt or cut short\)/);
  fails(Uint8Array.of(1, 2, 3), /^bad\.png: not a PNG file \(bad signature\)/);
  fails(good.subarray(0, 50), /^bad\.png: not a readable PNG \(the file is corrupt or cut short\)/);
  fails(writePng({ width: 4, height: 4, colorType: 3, samples: samples(16, 2, 4) }), /^bad\.png: not a readable PNG .*palette/i);
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(16, 100_000);
  new DataView(huge.buffer).setUint32(20, 100_000);
  fails(huge, /^bad\.png: image size 100000x100000 is not supported/);
});
