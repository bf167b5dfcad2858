// The HIL protocol between the host and the agent on the board: the one definition of its bytes.
// The C agent reads the same numbers from hil_protocol.h, which protocolHeader() writes from here
// into every HIL build, so the two sides cannot drift apart.
//
// On the wire a frame is COBS(body) followed by 0x00. The body is
//   type (u8) | seq (u16 LE) | payload | CRC-32 of everything before it (u32 LE).
// The host sends one INPUT per sample and waits for the OUTPUT with the same seq (stop and wait).
// The agent keeps no state between INPUT frames: it clears the model's state and runs every good
// INPUT it receives, so a repeated INPUT gives the same OUTPUT again and the host alone decides
// what counts. INPUT_CARRY frames (stateful runs) are the exception: running one twice advances
// the model's state twice, so the host never resends one the board may have run.

import { createHash } from 'node:crypto';
import { crc32, crc32Step } from '../ir/crc32.ts';
import type { DType } from '../ir/types.ts';
import { cobsDecode, cobsEncode } from './cobs.ts';

export const PROTOCOL_VERSION = 2;

export const MSG = {
  /** host -> board: say HELLO (a host that connects after boot missed the first one). */
  helloRequest: 0x01,
  /** board -> host: who it is (at boot, and on request). Payload: see parseHello. */
  hello: 0x02,
  /** host -> board: every input tensor of one sample, concatenated in input order. */
  input: 0x03,
  /** board -> host: the cycle count of the inference (u32 LE), every output tensor, then (a
   *  profiling build) the cycles of each op (u32 LE each, as many as HELLO's layer count). */
  output: 0x04,
  /** board -> host: a frame it could not use. Payload: error code (u8), then text. */
  error: 0x05,
  /** host -> board: as INPUT, but the model's recurrent state (LSTM) carries over from the last
   *  sample instead of being cleared first (INPUT clears it): one stream's consecutive frames. */
  inputCarry: 0x06,
} as const;

export const BOARD_ERROR = {
  /** The frame's CRC did not match its bytes. */
  crc: 1,
  /** Too short for a header and CRC, or a payload of the wrong size for its type. */
  length: 2,
  /** A type the agent does not know. */
  type: 3,
  /** Bytes were lost on the board's side (UART overrun) or the frame was not valid COBS. */
  framing: 4,
} as const;

/** Element types as the HELLO numbers them (HIL_DTYPE_* in C). */
export const WIRE_DTYPES: readonly DType[] = ['int8', 'uint8', 'int16', 'int32', 'float32'];

/** seq of a frame that answers no particular frame (HELLO, an ERROR for a frame too broken to read). */
export const NO_SEQ = 0xffff;
export const HEADER_BYTES = 3;
export const CRC_BYTES = 4;

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** A frame ready to send: leading delimiter (ends whatever garbage the receiver holds), COBS body, delimiter. */
export function encodeFrame(frame: Frame): Uint8Array {
  const body = new Uint8Array(HEADER_BYTES + frame.payload.length + CRC_BYTES);
  const view = new DataView(body.buffer);
  body[0] = frame.type;
  view.setUint16(1, frame.seq, true);
  body.set(frame.payload, HEADER_BYTES);
  view.setUint32(body.length - CRC_BYTES, crc32(body.subarray(0, body.length - CRC_BYTES)), true);
  const encoded = cobsEncode(body);
  const wire = new Uint8Array(encoded.length + 2);
  wire.set(encoded, 1);
  return wire;
}

/** What arrived between two delimiters: a frame whose CRC holds, or bytes that cannot be trusted. */
export type Received = { ok: true; frame: Frame } | { ok: false; bytes: number };

/** Splits a byte stream at delimiters and checks every frame; keeps partial frames between calls. */
export class FrameDecoder {
  private pending: number[] = [];
  /** Longest frame accepted; a run of bytes longer than this is garbage, not a frame. */
  constructor(private readonly maxEncodedBytes = 1 << 20) {}

  push(chunk: Uint8Array): Received[] {
    const out: Received[] = [];
    for (const byte of chunk) {
      if (byte !== 0) {
        if (this.pending.length < this.maxEncodedBytes) this.pending.push(byte);
        else this.pending.length = this.maxEncodedBytes + 1;
        continue;
      }
      if (this.pending.length > 0) out.push(this.check(this.pending));
      this.pending = [];
    }
    return out;
  }

  private check(encoded: number[]): Received {
    const fail = { ok: false as const, bytes: encoded.length };
    if (encoded.length > this.maxEncodedBytes) return fail;
    const body = cobsDecode(Uint8Array.from(encoded));
    if (!body || body.length < HEADER_BYTES + CRC_BYTES) return fail;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const end = body.length - CRC_BYTES;
    if (view.getUint32(end, true) !== crc32(body.subarray(0, end))) return fail;
    return { ok: true, frame: { type: body[0], seq: view.getUint16(1, true), payload: body.slice(HEADER_BYTES, end) } };
  }
}

export interface TensorInfo {
  bytes: number;
  dtype: DType;
}

export interface Hello {
  version: number;
  /** Hex of the first 8 bytes of the SHA-256 of the build's model.tflite. */
  modelHash: string;
  arenaBytes: number;
  clockHz: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  board: string;
  model: string;
  /** What the board's cycle counter counts (board_cycles_source()). */
  cyclesSource: string;
  /** Ops whose cycles every OUTPUT carries: a profiling build's op count, else 0. */
  profiledLayers: number;
}

/** HELLO payload: version u16, hash[8], arena u32, clock u32, input count u8, output count u8,
 *  (bytes u32, dtype u8) per input then per output, then board, model and cycle-source names
 *  (each u8 length + bytes), then the profiled layer count u16. Returns null for a payload that
 *  does not parse. */
export function parseHello(payload: Uint8Array): Hello | null {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const need = (n: number) => at + n <= payload.length;
  if (!need(20)) return null;
  const version = view.getUint16(0, true);
  const modelHash = Buffer.from(payload.subarray(2, 10)).toString('hex');
  const arenaBytes = view.getUint32(10, true);
  const clockHz = view.getUint32(14, true);
  const counts = [payload[18], payload[19]];
  at = 20;
  const lists: TensorInfo[][] = [];
  for (const count of counts) {
    const list: TensorInfo[] = [];
    for (let k = 0; k < count; k++) {
      if (!need(5)) return null;
      const dtype = WIRE_DTYPES[payload[at + 4]];
      if (dtype === undefined) return null;
      list.push({ bytes: view.getUint32(at, true), dtype });
      at += 5;
    }
    lists.push(list);
  }
  const names: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (!need(1) || !need(1 + payload[at])) return null;
    names.push(Buffer.from(payload.subarray(at + 1, at + 1 + payload[at])).toString('latin1'));
    at += 1 + payload[at];
  }
  if (!need(2)) return null;
  const profiledLayers = view.getUint16(at, true);
  return { version, modelHash, arenaBytes, clockHz, inputs: lists[0], outputs: lists[1], board: names[0], model: names[1], cyclesSource: names[2], profiledLayers };
}

/** hil_protocol.h: the numbers above for the C agent. */
export function protocolHeader(): string {
  const define = (name: string, value: number) => `#define ${name} ${value}u`;
  return [
    '/* The HIL protocol numbers, written by edgec from its protocol definition (src/device/protocol.ts). */',
    '#ifndef EDGEC_HIL_PROTOCOL_H',
    '#define EDGEC_HIL_PROTOCOL_H',
    '',
    define('HIL_PROTOCOL_VERSION', PROTOCOL_VERSION),
    define('HIL_HEADER_BYTES', HEADER_BYTES),
    define('HIL_CRC_BYTES', CRC_BYTES),
    define('HIL_NO_SEQ', NO_SEQ),
    '',
    ...Object.entries(MSG).map(([name, value]) => define(`HIL_MSG_${snake(name)}`, value)),
    '',
    ...Object.entries(BOARD_ERROR).map(([name, value]) => define(`HIL_ERROR_${snake(name)}`, value)),
    '',
    ...WIRE_DTYPES.map((dtype, code) => define(`HIL_DTYPE_${dtype.toUpperCase()}`, code)),
    '',
    '/* CRC-32 (IEEE, reflected), four bits a step: 64 bytes of table instead of 1 KiB. */',
    '#define HIL_CRC32_NIBBLE_TABLE \\',
    `    {${Array.from({ length: 16 }, (_, n) => `0x${crc32Step(n, 4).toString(16).padStart(8, '0')}u`).join(', ')}}`,
    '',
    '#endif',
    '',
  ].join('\n');
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** How a HELLO names a model: the first 8 bytes of the SHA-256 of its .tflite file, as hex. */
export function modelHash(tfliteBytes: Uint8Array): string {
  return createHash('sha256').update(tfliteBytes).digest('hex').slice(0, 16);
}
