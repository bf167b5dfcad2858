// The HIL agent (hil/hil_agent.c) compiled for the host under ASan and UBSan, with a board whose
// UART is stdin/stdout and a small fake model whose outputs tell exactly which input bytes it ran
// on. Byte streams built with encodeFrame go in; the replies are decoded with FrameDecoder and
// compared with what the protocol says the agent must answer, frame by frame.
//
// The fake model: inputs of 3 bytes (int8) and 300 bytes (int16 [150]), so an INPUT frame spans
// two COBS blocks on the way in and an OUTPUT spans two on the way out; outputs
//   0: int32 [2] = (sum of all input bytes, sum of (position + 1) * byte), little-endian
//   1: uint8 [300] = input 1 reversed, XOR input 0 cycled (written in place over input 1).
// The fake model also counts its invokes since its last reset (as a recurrent model's state would
// change) and adds that count times 2^24 to output 0's sum, so an answer shows whether the agent
// cleared the state before running it.
// The stand-in board's cycle counter starts just below 2^32 and its k-th reading advances it by
// 1000 + k, so the j-th inference of a run measures 1001 + 2j cycles, across the wrap.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { cobsDecode } from '../src/device/cobs.ts';
import { hilModelSource, HIL_DIR } from '../src/device/firmware-sources.ts';
import { BOARD_ERROR, encodeFrame, FrameDecoder, MSG, NO_SEQ, parseHello, protocolHeader, type Frame } from '../src/device/protocol.ts';
import type { Graph } from '../src/ir/types.ts';
import { findTool } from '../src/toolchain/tools.ts';
import { quant, random } from './helpers/op-graphs.ts';

type Rand = () => number;

const BOARDS_DIR = fileURLToPath(new URL('../boards/', import.meta.url));
const INPUT_BYTES = [3, 300];
const INPUT_TOTAL = INPUT_BYTES[0] + INPUT_BYTES[1];
const ARENA_BYTES = 312;
const MODEL_HASH = 'f00dfacecafe0123';
const MODEL_NAME = 'fake "model" \\ 1';
const BOARD_NAME = 'host-test';

const graph: Graph = {
  name: MODEL_NAME,
  tensors: [
    { name: 'in0', shape: [1, 3], dtype: 'int8', quant: quant(0.5, -3) },
    { name: 'in1', shape: [150], dtype: 'int16' },
    { name: 'out0', shape: [2], dtype: 'int32' },
    { name: 'out1', shape: [1, 300], dtype: 'uint8', quant: quant(0.25, 128) },
  ],
  ops: [],
  inputs: [0, 1],
  outputs: [2, 3],
};

const FAKE_H = `/* A stand-in for a generated model: fixed buffers, a checkable invoke. */
#ifndef FAKE_H
#define FAKE_H
#define FAKE_ARENA_BYTES ${ARENA_BYTES}
void *fake_input(int index);
void *fake_output(int index);
void fake_invoke(void);
void fake_reset(void);
#endif
`;

const FAKE_C = `#include <stddef.h>
#include <stdint.h>

#include "fake.h"

/* in0 at 0 (3 bytes), in1 and out1 at 4 (300 bytes, in place), out0 at 304 (8 bytes). */
static uint8_t arena[FAKE_ARENA_BYTES] __attribute__((aligned(8)));

void *fake_input(int index) {
    if (index == 0) return arena;
    if (index == 1) return arena + 4;
    return NULL;
}

void *fake_output(int index) {
    if (index == 0) return arena + 304;
    if (index == 1) return arena + 4;
    return NULL;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t carried;

void fake_reset(void) { carried = 0; }

void fake_invoke(void) {
    const uint8_t *in0 = arena;
    uint8_t *in1 = arena + 4;
    uint32_t sum = 0, weighted = 0, position = 0;
    for (int i = 0; i < 3; i++) { sum += in0[i]; weighted += ++position * in0[i]; }
    for (int i = 0; i < 300; i++) { sum += in1[i]; weighted += ++position * in1[i]; }
    sum += carried++ << 24;
    put_u32(arena + 304, sum);
    put_u32(arena + 308, weighted);
    for (int i = 0; i < 150; i++) {
        uint8_t a = in1[i], b = in1[299 - i];
        in1[i] = (uint8_t)(b ^ in0[i % 3]);
        in1[299 - i] = (uint8_t)(a ^ in0[(299 - i) % 3]);
    }
}
`;

const BOARD_C = `/* The board API on a host: the console UART is stdin/stdout. */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

static uint32_t counter = 0xFFFFFF00u;
static uint32_t readings;

void board_init(void) {}

void board_uart_write(const void *buf, unsigned len) {
    if (len != 0u && fwrite(buf, 1, len, stdout) != len) exit(3);
}

int board_uart_read_byte(void) {
    int c = getchar();
    if (c == EOF) exit(0);
    return c;
}

uint32_t board_cycles(void) {
    counter += 1000u + readings++;
    return counter;
}

const char *board_cycles_source(void) { return "host"; }

void board_exit(int code) { exit(code); }
`;

/** What the fake model computes from the 303 input bytes, `carried` invokes after its last reset: both outputs, concatenated. */
function modelOutputs(input: Uint8Array, carried = 0): Uint8Array {
  const out = new Uint8Array(8 + 300);
  let sum = carried * 2 ** 24;
  let weighted = 0;
  input.forEach((b, i) => {
    sum = (sum + b) >>> 0;
    weighted = (weighted + Math.imul(i + 1, b)) >>> 0;
  });
  const view = new DataView(out.buffer);
  view.setUint32(0, sum, true);
  view.setUint32(4, weighted, true);
  for (let i = 0; i < 300; i++) out[8 + i] = input[3 + 299 - i] ^ input[i % 3];
  return out;
}

/** The HELLO payload as the protocol lays it out, written here by hand. */
function expectedHello(): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number) => out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const name = (s: string) => out.push(s.length, ...Buffer.from(s, 'latin1'));
  out.push(2, 0); // version
  out.push(...Buffer.from(MODEL_HASH, 'hex'));
  u32(ARENA_BYTES);
  u32(48_000_000);
  out.push(2, 2);
  u32(3);
  out.push(0); // int8
  u32(300);
  out.push(2); // int16
  u32(8);
  out.push(3); // int32
  u32(300);
  out.push(1); // uint8
  name(BOARD_NAME);
  name(MODEL_NAME);
  name('host');
  out.push(0, 0); // profiled layers: not a profiling build
  return Uint8Array.from(out);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const u32le = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

function bytes(rand: Rand, length: number, zeroRate: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rand() < zeroRate ? 0 : 1 + int(rand, 255);
  return out;
}

const input = (seq: number, payload: Uint8Array): Frame => ({ type: MSG.input, seq, payload });

/** One line per reply, so a mismatch shows as a readable diff. */
function render(frame: Frame): string {
  switch (frame.type) {
    case MSG.hello:
      return `HELLO seq=${frame.seq} ${digest(frame.payload)}`;
    case MSG.output: {
      const cycles = new DataView(frame.payload.buffer, frame.payload.byteOffset).getUint32(0, true);
      return `OUTPUT seq=${frame.seq} cycles=${cycles} ${frame.payload.length - 4} bytes ${digest(frame.payload.subarray(4))}`;
    }
    case MSG.error:
      return `ERROR seq=${frame.seq} code=${frame.payload[0]}`;
    default:
      return `type ${frame.type} seq=${frame.seq} ${hex(frame.payload)}`;
  }
}

const HELLO_LINE = `HELLO seq=${NO_SEQ} ${digest(expectedHello())}`;
const outputLine = (seq: number, payload: Uint8Array, j: number) =>
  `OUTPUT seq=${seq} cycles=${1001 + 2 * j} 308 bytes ${digest(modelOutputs(payload))}`;
const errorLine = (seq: number, code: number) => `ERROR seq=${seq} code=${code}`;

/**
 * What the agent must answer to a byte stream, from the protocol alone: a HELLO at boot, then one
 * reply for every run of bytes between delimiters. The runs are checked with an independent CRC.
 */
function expectedReplies(stream: Uint8Array): string[] {
  const lines = [HELLO_LINE];
  let outputs = 0;
  let start = 0;
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] !== 0) continue;
    const run = stream.subarray(start, i);
    start = i + 1;
    if (run.length === 0) continue;
    const body = cobsDecode(run);
    if (body === null) {
      lines.push(errorLine(NO_SEQ, BOARD_ERROR.framing));
      continue;
    }
    // A run that decodes to nothing at all (a lone 0x01) is an empty frame: the agent skips it
    // like the empty run between two delimiters.
    if (body.length === 0) continue;
    if (body.length < 7) {
      lines.push(errorLine(NO_SEQ, BOARD_ERROR.length));
      continue;
    }
    const b = Buffer.from(body);
    if (b.readUInt32LE(body.length - 4) !== zlib.crc32(body.subarray(0, body.length - 4))) {
      lines.push(errorLine(NO_SEQ, BOARD_ERROR.crc));
      continue;
    }
    const type = body[0];
    const seq = b.readUInt16LE(1);
    const payload = body.subarray(3, body.length - 4);
    if (type === MSG.helloRequest) lines.push(payload.length === 0 ? HELLO_LINE : errorLine(seq, BOARD_ERROR.length));
    else if (type !== MSG.input) lines.push(errorLine(seq, BOARD_ERROR.type));
    else if (payload.length !== INPUT_TOTAL) lines.push(errorLine(seq, BOARD_ERROR.length));
    else lines.push(outputLine(seq, payload, outputs++));
  }
  return lines;
}

let compiler: string | null = null;
let missing = '';
try {
  compiler = findTool('cc');
} catch (e) {
  missing = (e as Error).message;
}

if (compiler === null) {
  test.skip(`the HIL agent on the host under ASan/UBSan (skipped: ${missing})`, () => {});
} else {
  const cc = compiler;
  const workDir = mkdtempSync(join(tmpdir(), 'edgec-device-agent-'));
  test.after.always(() => rmSync(workDir, { recursive: true, force: true }));
  /** The agent linked with the host board and a model (hil_model.c and the model's own sources). */
  const buildAgent = async (name: string, modelFiles: Record<string, string>): Promise<string> => {
    const dir = join(workDir, name);
    mkdirSync(dir);
    const files: Record<string, string> = { 'hil_protocol.h': protocolHeader(), 'board_host.c': BOARD_C, ...modelFiles };
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    const flags = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g', '-O1'];
    const sources = [join(HIL_DIR, 'hil_agent.c'), ...Object.keys(files).filter((f) => f.endsWith('.c')).map((f) => join(dir, f))];
    const exe = join(dir, 'hil_agent_host');
    try {
      await promisify(execFile)(cc, [...flags, `-I${dir}`, `-I${HIL_DIR}`, `-I${BOARDS_DIR}`, ...sources, '-o', exe]);
    } catch (e) {
      throw new Error(`the agent does not compile on the host:\n${(e as { stderr?: string }).stderr ?? e}`);
    }
    return exe;
  };

  const fakeAgent = buildAgent('fake', {
    'hil_model.c': hilModelSource({ graph, prefix: 'fake', arenaBytes: ARENA_BYTES, board: BOARD_NAME, clockHz: 48_000_000, modelHash: MODEL_HASH }),
    'fake.h': FAKE_H,
    'fake.c': FAKE_C,
  });

  /** Runs the fake model's agent on `stream` until it reads EOF. */
  const runAgent = async (stream: Uint8Array): Promise<Frame[]> => runProgram(await fakeAgent, stream);

  /** Runs an agent on `stream` until it reads EOF; its replies, all of which must be good frames. */
  const runProgram = async (exe: string, stream: Uint8Array): Promise<Frame[]> => {
    const child = spawn(exe, [], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // a crash shows in the exit status and stderr
    child.stdin.end(stream);
    const status = await new Promise<number | string>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? String(signal)));
    });
    const stderr = Buffer.concat(err).toString();
    if (status !== 0 || stderr !== '') throw new Error(`the agent exited with ${status}:\n${stderr.slice(0, 4000)}`);
    const received = new FrameDecoder().push(new Uint8Array(Buffer.concat(out)));
    const bad = received.filter((r) => !r.ok).length;
    if (bad > 0) throw new Error(`the agent sent ${bad} frames that do not decode`);
    const frames = received.flatMap((r) => (r.ok ? [r.frame] : []));
    for (const f of frames.filter((f) => f.type === MSG.error)) {
      // An error code, then a reason a person can read.
      if (f.payload.length < 2 || !/^[\x20-\x7e]+$/.test(Buffer.from(f.payload.subarray(1)).toString('latin1'))) {
        throw new Error(`ERROR frame without a readable reason: ${hex(f.payload)}`);
      }
    }
    return frames;
  };

  const sample = (rand: Rand, zeroRate = 0.05) => bytes(rand, INPUT_TOTAL, zeroRate);

  test('at boot it says HELLO with the model, board and cycle counter', async (t) => {
    const replies = await runAgent(new Uint8Array(0));
    t.is(replies.length, 1);
    t.is(replies[0].type, MSG.hello);
    t.is(replies[0].seq, NO_SEQ);
    t.is(hex(replies[0].payload), hex(expectedHello()));
    t.deepEqual(parseHello(replies[0].payload), {
      version: 2,
      modelHash: MODEL_HASH,
      arenaBytes: ARENA_BYTES,
      clockHz: 48_000_000,
      inputs: [
        { bytes: 3, dtype: 'int8' },
        { bytes: 300, dtype: 'int16' },
      ],
      outputs: [
        { bytes: 8, dtype: 'int32' },
        { bytes: 300, dtype: 'uint8' },
      ],
      board: BOARD_NAME,
      model: MODEL_NAME,
      cyclesSource: 'host',
      profiledLayers: 0,
    });
  });

  test('HELLO_REQUEST is answered with HELLO, whatever its seq', async (t) => {
    const stream = concat(...[NO_SEQ, 0, 7].map((seq) => encodeFrame({ type: MSG.helloRequest, seq, payload: new Uint8Array(0) })));
    const replies = await runAgent(stream);
    t.deepEqual(replies.map(render), [HELLO_LINE, HELLO_LINE, HELLO_LINE, HELLO_LINE]);
  });

  test('INPUT is answered with OUTPUT: same seq, the cycles of that inference, the outputs of those inputs', async (t) => {
    const rand = random(0xa6e);
    const payloads = [
      sample(rand),
      new Uint8Array(INPUT_TOTAL), // all zeros: a COBS code byte for every byte
      new Uint8Array(INPUT_TOTAL).fill(0xff), // no zeros: full 254-byte blocks
      sample(rand, 0.5),
      Uint8Array.from({ length: INPUT_TOTAL }, (_, i) => i % 256), // zeros at block-relevant places
      sample(rand, 0),
    ];
    const seqs = [0, NO_SEQ, 1, 0x8000, 0x00ff, 0xff00];
    const stream = concat(...payloads.map((p, i) => encodeFrame(input(seqs[i], p))));
    const replies = await runAgent(stream);
    t.deepEqual(replies.map(render), [HELLO_LINE, ...payloads.map((p, j) => outputLine(seqs[j], p, j))]);
    // The lines compare digests; compare the bytes of one answer in full as well.
    const first = replies[1];
    t.is(hex(first.payload), hex(concat(u32le(1001), modelOutputs(payloads[0]))));
  });

  test('INPUT clears the model state before it runs; INPUT_CARRY runs on from the last sample', async (t) => {
    const rand = random(0xca7);
    const payloads = [sample(rand), sample(rand), sample(rand), sample(rand), sample(rand)];
    const types = [MSG.input, MSG.inputCarry, MSG.inputCarry, MSG.input, MSG.inputCarry];
    const carried = [0, 1, 2, 0, 1];
    const stream = concat(...payloads.map((p, i) => encodeFrame({ type: types[i], seq: 0x100 + i, payload: p })));
    const replies = await runAgent(stream);
    t.deepEqual(
      replies.map(render),
      [HELLO_LINE, ...payloads.map((p, j) => `OUTPUT seq=${0x100 + j} cycles=${1001 + 2 * j} 308 bytes ${digest(modelOutputs(p, carried[j]))}`)],
    );
  });

  test('back-to-back frames with a single delimiter between them are all answered', async (t) => {
    const rand = random(0xb2b);
    const frames = Array.from({ length: 20 }, (_, k) =>
      k % 5 === 4 ? { type: MSG.helloRequest, seq: k, payload: new Uint8Array(0) } : input(k * 3000, sample(rand, [0, 0.05, 0.9][k % 3])),
    );
    // Drop every leading delimiter but the first: ...body 00 body 00...
    const stream = concat(...frames.map((f, k) => encodeFrame(f).subarray(k === 0 ? 0 : 1)));
    t.is(stream.filter((b) => b === 0).length, frames.length + 1);
    const replies = await runAgent(stream);
    t.deepEqual(replies.map(render), expectedReplies(stream));
    t.is(replies.filter((f) => f.type === MSG.output).length, 16);
  });

  test('an INPUT of the wrong size is ERROR length with its seq, and is not run', async (t) => {
    const rand = random(0x1e9);
    const sizes = [0, 1, 3, INPUT_TOTAL - 1, INPUT_TOTAL + 1, 2 * INPUT_TOTAL];
    const good = sample(rand);
    const stream = concat(...sizes.map((n, k) => encodeFrame(input(100 + k, bytes(rand, n, 0.05)))), encodeFrame(input(200, good)));
    const replies = await runAgent(stream);
    t.deepEqual(replies.map(render), [HELLO_LINE, ...sizes.map((_, k) => errorLine(100 + k, BOARD_ERROR.length)), outputLine(200, good, 0)]);
  });

  test('a type the agent does not take is ERROR type with its seq', async (t) => {
    const types = [0x00, MSG.hello, MSG.output, MSG.error, 0x07, 0x7f, 0xff];
    const stream = concat(...types.map((type, k) => encodeFrame({ type, seq: 0x4000 + k, payload: new Uint8Array(k === 0 ? 0 : INPUT_TOTAL) })));
    const replies = await runAgent(stream);
    t.deepEqual(replies.map(render), [HELLO_LINE, ...types.map((_, k) => errorLine(0x4000 + k, BOARD_ERROR.type))]);
  });

  /** Positions of the COBS code bytes in an encoded frame (wire form, delimiters at both ends). */
  const codeBytes = (wire: Uint8Array): Set<number> => {
    const codes = new Set<number>();
    for (let at = 1; at < wire.length - 1; at += wire[at]) codes.add(at);
    return codes;
  };

  test('a damaged INPUT is an ERROR, never an OUTPUT; the good INPUT after it is answered', async (t) => {
    const rand = random(0xda3);
    const payload = sample(rand, 0); // no zeros: blocks of 254 bytes and one more block
    const wire = encodeFrame(input(0x0bad, payload));
    const codes = codeBytes(wire);
    // Blocks: 254 bytes, then the rest (the payload has no zeros, so only the CRC could add one).
    const lastCode = Math.max(...codes);
    const dataAt = lastCode + 2; // a data byte of the last block
    for (const at of [2, 3, dataAt, wire.length - 3, wire.length - 2]) t.false(codes.has(at), `byte ${at} is a code byte`);
    t.not(wire[wire.length - 2], 1);
    const damaged = (f: (b: number[]) => void) => {
      const b = [...wire];
      f(b);
      return Uint8Array.from(b);
    };
    const flip = (at: number) => damaged((b) => (b[at] ^= b[at] === 1 ? 2 : 1));
    const any = null;
    const cases: [string, Uint8Array, string[] | null][] = [
      // A data byte with a flipped bit: the COBS holds, the CRC does not.
      ['type bit flipped', flip(2), [errorLine(NO_SEQ, BOARD_ERROR.crc)]],
      ['seq bit flipped', flip(3), [errorLine(NO_SEQ, BOARD_ERROR.crc)]],
      ['payload bit flipped', flip(100), [errorLine(NO_SEQ, BOARD_ERROR.crc)]],
      ['CRC bit flipped', flip(wire.length - 3), [errorLine(NO_SEQ, BOARD_ERROR.crc)]],
      // A byte of the last block lost: the frame ends one byte short of that block's code.
      ['data byte dropped', damaged((b) => b.splice(dataAt, 1)), [errorLine(NO_SEQ, BOARD_ERROR.framing)]],
      // A byte of the last block twice: its last byte is taken for a code whose block runs past the end.
      ['data byte duplicated', damaged((b) => b.splice(dataAt, 0, b[dataAt])), [errorLine(NO_SEQ, BOARD_ERROR.framing)]],
      ['frame ends early', concat(wire.subarray(0, 120), Uint8Array.of(0)), [errorLine(NO_SEQ, BOARD_ERROR.framing)]],
      ['a short frame', Uint8Array.of(0, 5, 1, 2, 3, 4, 0), [errorLine(NO_SEQ, BOARD_ERROR.length)]],
      ['code byte flipped', flip(lastCode), any],
      ['first code byte dropped', damaged((b) => b.splice(1, 1)), any],
      ['byte dropped in the first block', damaged((b) => b.splice(100, 1)), any],
      ['byte duplicated in the first block', damaged((b) => b.splice(100, 0, b[100])), any],
      ['cut in two by a delimiter', damaged((b) => b.splice(200, 0, 0)), any],
      ['garbage with zeros inserted', damaged((b) => b.splice(150, 0, 0x11, 0x00, 0x00, 0x05, 0x22, 0x00, 0x33)), any],
    ];
    for (const [name, bad, errors] of cases) {
      const after = sample(rand);
      const stream = concat(bad, encodeFrame(input(0x600d, after)));
      const replies = await runAgent(stream);
      const lines = replies.map(render);
      t.deepEqual(lines, expectedReplies(stream), name);
      if (errors) t.deepEqual(lines, [HELLO_LINE, ...errors, outputLine(0x600d, after, 0)], name);
      // Whatever it says about the damage, it never runs it and always runs the next frame.
      t.true(lines.slice(1, -1).length >= 1 && lines.slice(1, -1).every((l) => l.startsWith(`ERROR seq=${NO_SEQ} `)), `${name}: ${lines}`);
      t.is(lines[lines.length - 1], outputLine(0x600d, after, 0), name);
    }
  });

  test('garbage before, between and after good frames costs nothing but ERRORs', async (t) => {
    const rand = random(0x9a4b);
    const payloads = Array.from({ length: 6 }, () => sample(rand));
    const garbage = [
      bytes(rand, 500, 0), // no delimiter: the next frame's leading delimiter ends it
      bytes(rand, 40, 0.3),
      Uint8Array.of(0, 0, 0, 0),
      Uint8Array.of(0xff, 0xff, 0xff),
      Uint8Array.of(0x01, 0x00, 0x01, 0x01, 0x00),
      bytes(rand, 1000, 0.01),
      bytes(rand, 30, 0), // after the last frame, never ended
    ];
    const stream = concat(...garbage.flatMap((g, k) => (k < payloads.length ? [g, encodeFrame(input(k, payloads[k]))] : [g])));
    const replies = await runAgent(stream);
    const lines = replies.map(render);
    t.deepEqual(lines, expectedReplies(stream));
    t.deepEqual(
      lines.filter((l) => !l.startsWith('ERROR')),
      [HELLO_LINE, ...payloads.map((p, k) => outputLine(k, p, k))],
    );
  });

  test('inputs of no bytes take none of the INPUT: the bytes go to the inputs that have them', async (t) => {
    // Shapes with a zero dimension are valid IR; the agent must step over such inputs.
    const gaps: Graph = {
      name: 'gaps',
      tensors: [
        { name: 'e0', shape: [0], dtype: 'int8' },
        { name: 'a', shape: [5], dtype: 'uint8' },
        { name: 'e1', shape: [2, 0], dtype: 'int8' },
        { name: 'b', shape: [7], dtype: 'uint8' },
        { name: 'e2', shape: [0, 3], dtype: 'int8' },
        { name: 'out', shape: [12], dtype: 'uint8' },
      ],
      ops: [],
      inputs: [0, 1, 2, 3, 4],
      outputs: [5],
    };
    const exe = await buildAgent('gaps', {
      'hil_model.c': hilModelSource({ graph: gaps, prefix: 'gaps', arenaBytes: 32, board: BOARD_NAME, clockHz: 1, modelHash: MODEL_HASH }),
      'gaps.h': 'void *gaps_input(int index);\nvoid *gaps_output(int index);\nvoid gaps_invoke(void);\nvoid gaps_reset(void);\n',
      'gaps.c': `#include <stddef.h>
#include <stdint.h>

#include "gaps.h"

/* One byte behind each empty input, so that a byte written there shows; ASan guards the rest. */
static uint8_t empty[3][1], a[5], b[7], out[12];

void *gaps_input(int index) {
    switch (index) {
    case 0: return empty[0];
    case 1: return a;
    case 2: return empty[1];
    case 3: return b;
    case 4: return empty[2];
    default: return NULL;
    }
}

void *gaps_output(int index) { return index == 0 ? out : NULL; }

/* out = a then b, inverted if a byte ever landed in an empty input. */
void gaps_reset(void) {}

void gaps_invoke(void) {
    uint8_t stray = (uint8_t)(empty[0][0] | empty[1][0] | empty[2][0]);
    for (int i = 0; i < 5; i++) out[i] = (uint8_t)(a[i] ^ (stray ? 0xFF : 0));
    for (int i = 0; i < 7; i++) out[5 + i] = (uint8_t)(b[i] ^ (stray ? 0xFF : 0));
}
`,
    });
    const payloads = [Uint8Array.from({ length: 12 }, (_, i) => 0x10 + i), new Uint8Array(12).fill(0xff)];
    const replies = await runProgram(exe, concat(...payloads.map((p, k) => encodeFrame(input(k, p)))));
    t.deepEqual(
      parseHello(replies[0].payload)?.inputs.map((i) => i.bytes),
      [0, 5, 0, 7, 0],
    );
    t.deepEqual(
      replies.slice(1).map((f) => `${f.type} ${f.seq} ${hex(f.payload.subarray(4))}`),
      payloads.map((p, k) => `${MSG.output} ${k} ${hex(p)}`),
    );
  });

  test('fuzz: thousands of random segments, good and damaged frames among garbage, under the sanitizers', async (t) => {
    const rand = random(0xf022);
    let segments = 0;
    let undamagedSeen = 0;
    let stillGood = 0;
    for (let run = 0; run < 12; run++) {
      const parts: Uint8Array[] = [];
      /** seq -> the payload of an INPUT sent undamaged. */
      const undamaged = new Map<number, Uint8Array>();
      const damagedSeqs = new Set<number>();
      let seq = int(rand, 0x10000);
      for (let k = 0; k < 300; k++, segments++) {
        const kind = int(rand, 10);
        seq = (seq + 1) & 0xffff;
        if (kind <= 3) {
          const payload = sample(rand, [0, 0.01, 0.2, 0.9, 1][int(rand, 5)]);
          undamaged.set(seq, payload);
          parts.push(encodeFrame(input(seq, payload)));
        } else if (kind <= 5) {
          // A damaged INPUT: a flipped bit, lost or repeated bytes, garbage inside, or cut short.
          const wire = [...encodeFrame(input(seq, sample(rand, 0.1)))];
          const at = 1 + int(rand, wire.length - 2);
          const how = int(rand, 5);
          if (how === 0) wire[at] ^= 1 << int(rand, 8);
          else if (how === 1) wire.splice(at, 1 + int(rand, 3));
          else if (how === 2) wire.splice(at, 0, wire[at]);
          else if (how === 3) wire.splice(at, 0, ...bytes(rand, 1 + int(rand, 20), 0.3));
          else wire.splice(at, wire.length - at - 1);
          const bad = Uint8Array.from(wire);
          // A damage that leaves the frame meaning the same (a lost redundant empty block) is no damage.
          const still = new FrameDecoder().push(concat(bad, Uint8Array.of(0))).some((r) => r.ok && r.frame.seq === seq && r.frame.type === MSG.input);
          if (still) stillGood++;
          else damagedSeqs.add(seq);
          parts.push(bad);
        } else if (kind === 6) {
          parts.push(bytes(rand, int(rand, 700), [0, 0.002, 0.05, 0.5][int(rand, 4)]));
        } else if (kind === 7) {
          const type = [MSG.helloRequest, MSG.hello, MSG.output, 0x00, 0xff][int(rand, 5)];
          parts.push(encodeFrame({ type, seq, payload: bytes(rand, int(rand, 3) === 0 ? INPUT_TOTAL : int(rand, 40), 0.1) }));
        } else if (kind === 8) {
          parts.push(encodeFrame(input(seq, bytes(rand, int(rand, 2 * INPUT_TOTAL), 0.05))));
        } else {
          // A frame without its leading delimiter: good after a delimiter, merged with the
          // garbage before it otherwise.
          const payload = sample(rand, 0.05);
          const last = [...parts].reverse().find((p) => p.length > 0);
          if (last === undefined || last[last.length - 1] === 0) undamaged.set(seq, payload);
          else damagedSeqs.add(seq);
          parts.push(encodeFrame(input(seq, payload)).subarray(1));
        }
      }
      const stream = concat(...parts);
      const replies = await runAgent(stream);
      const lines = replies.map(render);
      const expected = expectedReplies(stream);
      if (!t.deepEqual(lines, expected, `run ${run}`)) return;
      // Independently of the protocol model: every undamaged INPUT got exactly its OUTPUT, and
      // every OUTPUT is the answer to an INPUT as it was sent.
      const outputs = replies.filter((f) => f.type === MSG.output);
      for (const [s, payload] of undamaged) {
        const answers = outputs.filter((f) => f.seq === s);
        t.is(answers.length, 1, `run ${run}: seq ${s} answered ${answers.length} times`);
        t.is(hex(answers[0]?.payload.subarray(4) ?? new Uint8Array(0)), hex(modelOutputs(payload)), `run ${run}: seq ${s}`);
        undamagedSeen++;
      }
      for (const f of outputs) {
        t.false(damagedSeqs.has(f.seq), `run ${run}: the damaged INPUT seq ${f.seq} was run`);
      }
    }
    t.log(`${segments} segments, ${undamagedSeen} undamaged INPUTs answered, ${stillGood} damages that changed nothing`);
    t.true(segments >= 3000);
    t.true(undamagedSeen > 1000, `${undamagedSeen} undamaged INPUTs`);
  });
}
