// The HIL protocol's bytes without a board: COBS, CRC-32, frames through the streaming decoder
// (chunking, bit flips, garbage, overlong runs), and the HELLO parser. Every check is against an
// independent statement of the format (zlib's CRC, hand-built payloads), not the code under test.

import test from 'ava';
import * as zlib from 'node:zlib';
import { cobsDecode, cobsEncode } from '../src/device/cobs.ts';
import {
  CRC_BYTES,
  encodeFrame,
  FrameDecoder,
  HEADER_BYTES,
  MSG,
  NO_SEQ,
  parseHello,
  protocolHeader,
  WIRE_DTYPES,
  type Frame,
  type Received,
} from '../src/device/protocol.ts';
import { crc32, crc32Step } from '../src/ir/crc32.ts';
import { random } from './helpers/op-graphs.ts';

type Rand = () => number;

const int = (rand: Rand, n: number) => Math.floor(rand() * n);

/** Random bytes; `zeroRate` of them are 0x00 (the rest uniform over 1..255). */
function bytes(rand: Rand, length: number, zeroRate = 1 / 256): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rand() < zeroRate ? 0 : 1 + int(rand, 255);
  return out;
}

const nonZero = (length: number, start = 1) => Uint8Array.from({ length }, (_, i) => ((start - 1 + i) % 255) + 1);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

function randomFrame(rand: Rand, maxPayload = 700): Frame {
  const zeroRate = [0, 1 / 256, 0.1, 0.5, 1][int(rand, 5)];
  return { type: int(rand, 256), seq: int(rand, 0x10000), payload: bytes(rand, int(rand, maxPayload + 1), zeroRate) };
}

const good = (results: Received[]) => results.filter((r): r is Extract<Received, { ok: true }> => r.ok).map((r) => r.frame);
const sameFrame = (a: Frame, b: Frame) => a.type === b.type && a.seq === b.seq && hex(a.payload) === hex(b.payload);

// ---- COBS ----

test('COBS: known encodings', (t) => {
  const cases: [number[], number[]][] = [
    [[], [0x01]],
    [[0x00], [0x01, 0x01]],
    [[0x00, 0x00], [0x01, 0x01, 0x01]],
    [[0x00, 0x11, 0x00], [0x01, 0x02, 0x11, 0x01]],
    [[0x11, 0x22, 0x00, 0x33], [0x03, 0x11, 0x22, 0x02, 0x33]],
    [[0x11, 0x22, 0x33, 0x44], [0x05, 0x11, 0x22, 0x33, 0x44]],
    [[0x11, 0x00, 0x00, 0x00], [0x02, 0x11, 0x01, 0x01, 0x01]],
  ];
  for (const [data, encoded] of cases) {
    t.deepEqual([...cobsEncode(Uint8Array.from(data))], encoded, `encode ${data}`);
    t.deepEqual([...(cobsDecode(Uint8Array.from(encoded)) ?? [])], data, `decode ${encoded}`);
  }
  // 0x00 then 254 non-zero bytes: one empty block, then a full one.
  const data = concat(Uint8Array.of(0), nonZero(254));
  t.deepEqual([...cobsEncode(data).subarray(0, 3)], [0x01, 0xff, 0x01]);
  // A full block at the very end may or may not be followed by an empty one: both mean the same.
  const full = nonZero(254);
  t.deepEqual(cobsDecode(concat(Uint8Array.of(0xff), full)), full);
  t.deepEqual(cobsDecode(concat(Uint8Array.of(0xff), full, Uint8Array.of(0x01))), full);
});

test('COBS: round trips of edge lengths, never a zero in the output, overhead at most 1 + ceil(n/254)', (t) => {
  const rand = random(0xc0b5);
  const inputs: [string, Uint8Array][] = [['empty', new Uint8Array(0)]];
  for (const n of [1, 2, 253, 254, 255, 256, 507, 508, 509, 762, 1000]) {
    inputs.push([`${n} zeros`, new Uint8Array(n)]);
    inputs.push([`${n} non-zero`, nonZero(n)]);
    inputs.push([`${n} x 0xff`, new Uint8Array(n).fill(0xff)]);
    inputs.push([`${n} non-zero then a zero`, concat(nonZero(n), Uint8Array.of(0))]);
    inputs.push([`a zero then ${n} non-zero`, concat(Uint8Array.of(0), nonZero(n))]);
  }
  for (let k = 0; k < 400; k++) {
    const zeroRate = [0, 1 / 256, 0.01, 0.1, 0.5, 0.99][k % 6];
    inputs.push([`random #${k}`, bytes(rand, int(rand, 1200), zeroRate)]);
  }
  for (const [name, data] of inputs) {
    const encoded = cobsEncode(data);
    t.false(encoded.includes(0), `${name}: a zero in the encoding`);
    t.true(encoded.length <= data.length + 1 + Math.ceil(data.length / 254), `${name}: ${encoded.length} bytes for ${data.length}`);
    t.true(encoded.length >= data.length + 1, `${name}: shorter than data plus one code byte`);
    const decoded = cobsDecode(encoded);
    t.truthy(decoded, `${name}: does not decode`);
    t.is(hex(decoded!), hex(data), name);
  }
});

test('COBS: malformed input is rejected, not decoded into something', (t) => {
  t.is(cobsDecode(Uint8Array.of(0x00)), null, 'a lone zero');
  t.is(cobsDecode(Uint8Array.of(0x03, 0x11, 0x00)), null, 'a zero inside a block');
  t.is(cobsDecode(Uint8Array.of(0x03, 0x11, 0x00, 0x22)), null, 'a zero inside a block, more after it');
  t.is(cobsDecode(concat(Uint8Array.of(0xff), nonZero(100), Uint8Array.of(0), nonZero(153))), null, 'a zero inside a full block');
  t.is(cobsDecode(Uint8Array.of(0x02, 0x11, 0x00)), null, 'a zero where a code belongs');
  t.is(cobsDecode(Uint8Array.of(0x05, 0x11, 0x22)), null, 'a code running past the end');
  t.is(cobsDecode(Uint8Array.of(0x02)), null, 'a code with nothing after it');
  t.is(cobsDecode(concat(Uint8Array.of(0xff), nonZero(253))), null, 'a full block one byte short');
  // A truncated encoding either fails or, cut at a block boundary, is the data up to there: it
  // never invents bytes.
  const rand = random(0xbad);
  for (let k = 0; k < 200; k++) {
    const data = bytes(rand, 1 + int(rand, 600), [0, 0.05, 0.3][k % 3]);
    const encoded = cobsEncode(data);
    const cut = int(rand, encoded.length);
    const decoded = cobsDecode(encoded.subarray(0, cut));
    if (decoded === null) continue;
    // A cut exactly at a block boundary is valid COBS of a shorter message: the data up to there.
    const prefix = data.subarray(0, decoded.length);
    t.is(hex(decoded.subarray(0, prefix.length)), hex(prefix), `cut at ${cut} of ${encoded.length}`);
  }
});

// ---- CRC-32 ----

/** CRC-32 byte by byte from the polynomial (the one the C table is derived from). */
function polynomialCrc(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) c = crc32Step((c ^ b) & 0xff, 8) ^ (c >>> 8);
  return ~c >>> 0;
}

test('CRC-32 (zlib underneath) is the polynomial the C side uses, gives the check value, and continues across chunks', (t) => {
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32(new Uint8Array(0)), 0);
  const rand = random(0xc3c);
  for (let k = 0; k < 200; k++) {
    const data = bytes(rand, int(rand, 2000), 0.1);
    t.is(crc32(data), polynomialCrc(data), `random #${k}`);
    const cut = int(rand, data.length + 1);
    t.is(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), polynomialCrc(data), `random #${k} split at ${cut}`);
  }
});

test("hil_protocol.h's nibble table is the byte-wise CRC's, and a nibble-wise CRC with it is zlib's", (t) => {
  const header = protocolHeader();
  const match = /#define HIL_CRC32_NIBBLE_TABLE \\\n\s*\{([^}]*)\}/.exec(header);
  t.truthy(match, 'no HIL_CRC32_NIBBLE_TABLE in the header');
  const table = match![1].split(',').map((s) => Number.parseInt(s.trim().replace(/u$/, ''), 16));
  t.is(table.length, 16);
  for (let n = 0; n < 16; n++) {
    // From a zero register, the byte n<<4 leaves the register at nibble-table entry n. zlib's
    // crc32 continuing from 0xFFFFFFFF starts from a zero register and returns it inverted.
    t.is(table[n], ~zlib.crc32(Uint8Array.of(n << 4), 0xffffffff) >>> 0, `entry ${n}`);
  }
  // The agent's crc_update, in TypeScript.
  const nibbleCrc = (data: Uint8Array) => {
    let c = 0xffffffff;
    for (const byte of data) {
      c = (c ^ byte) >>> 0;
      c = ((c >>> 4) ^ table[c & 15]) >>> 0;
      c = ((c >>> 4) ^ table[c & 15]) >>> 0;
    }
    return ~c >>> 0;
  };
  t.is(nibbleCrc(Buffer.from('123456789')), 0xcbf43926);
  const rand = random(0x41b);
  for (let k = 0; k < 100; k++) {
    const data = bytes(rand, int(rand, 1000), 0.2);
    t.is(nibbleCrc(data), zlib.crc32(data));
  }
});

test('hil_protocol.h carries the protocol numbers', (t) => {
  const header = protocolHeader();
  const defined = (name: string) => {
    const m = new RegExp(`#define ${name} (\\d+)u\\b`).exec(header);
    return m ? Number(m[1]) : undefined;
  };
  t.is(defined('HIL_MSG_HELLO_REQUEST'), MSG.helloRequest);
  t.is(defined('HIL_MSG_HELLO'), MSG.hello);
  t.is(defined('HIL_MSG_INPUT'), MSG.input);
  t.is(defined('HIL_MSG_OUTPUT'), MSG.output);
  t.is(defined('HIL_MSG_ERROR'), MSG.error);
  t.is(defined('HIL_NO_SEQ'), NO_SEQ);
  t.is(defined('HIL_HEADER_BYTES'), HEADER_BYTES);
  t.is(defined('HIL_CRC_BYTES'), CRC_BYTES);
  WIRE_DTYPES.forEach((dtype, code) => t.is(defined(`HIL_DTYPE_${dtype.toUpperCase()}`), code, dtype));
});

// ---- Frames ----

test('encodeFrame writes delimiter, COBS(type | seq LE | payload | CRC-32 LE), delimiter', (t) => {
  const rand = random(0xf4a);
  for (let k = 0; k < 100; k++) {
    const frame = randomFrame(rand);
    const wire = encodeFrame(frame);
    t.is(wire[0], 0);
    t.is(wire[wire.length - 1], 0);
    t.false(wire.subarray(1, -1).includes(0), 'a zero inside the frame');
    const body = cobsDecode(wire.subarray(1, -1))!;
    t.is(body.length, HEADER_BYTES + frame.payload.length + CRC_BYTES);
    t.is(body[0], frame.type);
    t.is(Buffer.from(body).readUInt16LE(1), frame.seq);
    t.is(hex(body.subarray(HEADER_BYTES, body.length - CRC_BYTES)), hex(frame.payload));
    t.is(Buffer.from(body).readUInt32LE(body.length - CRC_BYTES), zlib.crc32(body.subarray(0, body.length - CRC_BYTES)));
  }
});

test('frames come back whole, whether pushed at once, byte by byte or in random chunks', (t) => {
  const rand = random(0xf00d);
  const frames = Array.from({ length: 60 }, () => randomFrame(rand));
  frames.push({ type: MSG.input, seq: 0, payload: new Uint8Array(0) }, { type: MSG.input, seq: 0xffff, payload: new Uint8Array(600) });
  frames.push({ type: 0, seq: 0, payload: new Uint8Array(300).fill(0xff) }, { type: 0xff, seq: 0x100, payload: nonZero(254 - HEADER_BYTES - CRC_BYTES) });
  const stream = concat(...frames.map(encodeFrame));

  const check = (name: string, chunks: Uint8Array[]) => {
    const decoder = new FrameDecoder();
    const results = chunks.flatMap((c) => decoder.push(c));
    t.is(results.length, frames.length, name);
    t.true(results.every((r) => r.ok), `${name}: a bad frame`);
    const got = good(results);
    frames.forEach((f, i) => t.true(got[i] && sameFrame(got[i], f), `${name}: frame ${i}`));
  };
  check('at once', [stream]);
  check('byte by byte', Array.from(stream, (b) => Uint8Array.of(b)));
  for (let k = 0; k < 20; k++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(stream.length - at, int(rand, k % 2 ? 8 : 700));
      chunks.push(stream.subarray(at, at + n)); // empty chunks included
      at += n;
    }
    check(`chunking #${k}`, chunks);
  }
});

test('a flipped bit anywhere in a frame is a bad frame, never a good one with other contents', (t) => {
  const rand = random(0xb17);
  const frames: Frame[] = [
    { type: MSG.input, seq: 0x1234, payload: bytes(rand, 40, 0.2) },
    { type: MSG.output, seq: 7, payload: bytes(rand, 300, 0) },
    { type: MSG.hello, seq: NO_SEQ, payload: new Uint8Array(12) },
    // Body exactly one full COBS block: the encoding ends in a redundant empty block.
    { type: 0x55, seq: 0x5555, payload: nonZero(254 - HEADER_BYTES - CRC_BYTES) },
  ];
  let flips = 0;
  let bad = 0;
  for (const frame of frames) {
    const wire = encodeFrame(frame);
    for (let i = 0; i < wire.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = wire.slice();
        damaged[i] ^= 1 << bit;
        const decoder = new FrameDecoder();
        const results = [...decoder.push(damaged), ...decoder.push(Uint8Array.of(0))];
        flips++;
        const where = `frame type ${frame.type}, byte ${i} of ${wire.length}, bit ${bit}`;
        for (const f of good(results)) t.true(sameFrame(f, frame), `${where}: a good frame with other contents`);
        if (results.some((r) => !r.ok)) bad++;
        else {
          // Only a bit that leaves the frame meaning the same may go unreported: the redundant
          // empty block after a full one turning into the delimiter.
          t.true(i === wire.length - 2 && wire[i] === 0x01 && bit === 0 && good(results).length === 1, `${where}: not reported`);
        }
      }
    }
  }
  t.true(bad >= flips - frames.length, `${bad} of ${flips} flips reported`);
});

test('garbage before, between and after frames is skipped; the next good frame decodes', (t) => {
  const rand = random(0x6a7b);
  for (let round = 0; round < 200; round++) {
    const frames: Frame[] = [];
    const parts: Uint8Array[] = [];
    const garbage = () => {
      const kind = int(rand, 4);
      if (kind === 0) return new Uint8Array(0);
      if (kind === 1) return bytes(rand, 1 + int(rand, 600), 0); // no delimiter at all
      if (kind === 2) return bytes(rand, 1 + int(rand, 600), 0.05);
      return bytes(rand, 1 + int(rand, 20), 0.5);
    };
    parts.push(garbage());
    for (let k = 0; k < 1 + int(rand, 5); k++) {
      const frame = randomFrame(rand, 400);
      frames.push(frame);
      parts.push(encodeFrame(frame), garbage());
    }
    const stream = concat(...parts);
    const decoder = new FrameDecoder();
    const results: Received[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = 1 + int(rand, 64);
      results.push(...decoder.push(stream.subarray(at, at + n)));
      at += n;
    }
    const got = good(results);
    t.is(got.length, frames.length, `round ${round}: ${got.length} good frames of ${frames.length}`);
    frames.forEach((f, i) => t.true(got[i] !== undefined && sameFrame(got[i], f), `round ${round}: frame ${i}`));
  }
});

test('a run longer than the decoder limit is a bad frame, and the decoder recovers after it', (t) => {
  const frame: Frame = { type: MSG.input, seq: 9, payload: nonZero(500) };
  const encodedBytes = encodeFrame(frame).length - 2;
  const next: Frame = { type: MSG.input, seq: 10, payload: nonZero(5) };

  const atLimit = new FrameDecoder(encodedBytes).push(encodeFrame(frame));
  t.is(atLimit.length, 1);
  t.true(atLimit[0].ok, 'a frame exactly at the limit is accepted');

  const decoder = new FrameDecoder(encodedBytes - 1);
  const over = decoder.push(encodeFrame(frame));
  t.deepEqual(over, [{ ok: false, bytes: encodedBytes }]);
  t.true(sameFrame(good(decoder.push(encodeFrame(next)))[0], next));

  // A long run with no delimiter is one bad frame, however long; the next frame still decodes.
  const long = new FrameDecoder(100);
  const results = [...long.push(bytes(random(1), 100_000, 0)), ...long.push(encodeFrame(next))];
  t.is(results.length, 2);
  t.false(results[0].ok);
  t.true(results[1].ok && sameFrame(results[1].frame, next));
});

test('too short to hold a header and CRC is a bad frame', (t) => {
  for (let n = 0; n < HEADER_BYTES + CRC_BYTES; n++) {
    const body = bytes(random(n), n, 0);
    // Even with a CRC that would hold over what is there.
    const results = new FrameDecoder().push(concat(Uint8Array.of(0), cobsEncode(body), Uint8Array.of(0)));
    t.is(results.length, 1, `${n} bytes`);
    t.false(results[0].ok, `${n} bytes`);
  }
  const emptyPayload = new FrameDecoder().push(encodeFrame({ type: 1, seq: 2, payload: new Uint8Array(0) }));
  t.true(emptyPayload[0].ok, 'header and CRC alone are a frame');
});

// ---- HELLO ----

function helloPayload(dtypes: number[] = [0, 4, 1]): Uint8Array {
  const out: number[] = [];
  const u16 = (v: number) => out.push(v & 0xff, v >>> 8);
  const u32 = (v: number) => out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const name = (s: string) => out.push(s.length, ...Buffer.from(s, 'latin1'));
  u16(1);
  out.push(0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef);
  u32(123456);
  u32(168_000_000);
  out.push(2, 1);
  u32(3);
  out.push(dtypes[0]);
  u32(0x01020304);
  out.push(dtypes[1]);
  u32(40);
  out.push(dtypes[2]);
  name('stm32f4');
  name('kws');
  name('dwt-cycles');
  u16(37);
  return Uint8Array.from(out);
}

test('parseHello reads a well-formed payload', (t) => {
  t.deepEqual(parseHello(helloPayload()), {
    version: 1,
    modelHash: '0123456789abcdef',
    arenaBytes: 123456,
    clockHz: 168_000_000,
    inputs: [
      { bytes: 3, dtype: 'int8' },
      { bytes: 0x01020304, dtype: 'float32' },
    ],
    outputs: [{ bytes: 40, dtype: 'uint8' }],
    board: 'stm32f4',
    model: 'kws',
    cyclesSource: 'dwt-cycles',
    profiledLayers: 37,
  });
  // A payload inside a larger buffer (as a decoded frame's is).
  const inside = concat(new Uint8Array(5).fill(0xee), helloPayload(), new Uint8Array(3));
  t.is(parseHello(inside.subarray(5, inside.length - 3))?.cyclesSource, 'dwt-cycles');
  const empty = concat(helloPayload().subarray(0, 20), Uint8Array.of(0, 0, 0, 0, 0));
  empty[18] = 0;
  empty[19] = 0;
  t.deepEqual(parseHello(empty), {
    version: 1, modelHash: '0123456789abcdef', arenaBytes: 123456, clockHz: 168_000_000, inputs: [], outputs: [], board: '', model: '', cyclesSource: '', profiledLayers: 0,
  });
});

test('parseHello: every truncation and every unknown dtype is null', (t) => {
  const payload = helloPayload();
  for (let n = 0; n < payload.length; n++) t.is(parseHello(payload.subarray(0, n)), null, `${n} of ${payload.length} bytes`);
  for (const position of [0, 1, 2]) {
    for (const code of [WIRE_DTYPES.length, 0x80, 0xff]) {
      const dtypes = [0, 4, 1];
      dtypes[position] = code;
      t.is(parseHello(helloPayload(dtypes)), null, `dtype ${code} in tensor ${position}`);
    }
  }
});
