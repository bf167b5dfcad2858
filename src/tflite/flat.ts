// Bounds-checked access to a flatbuffer that may be truncated, corrupted or hostile.
// Every position is checked against the buffer before it is read, and every problem becomes a
// model error naming the file and the place in the model, never an out-of-range read that
// silently yields garbage.
//
// Offsets to tables, vectors and strings are unsigned and point forward, so following them cannot
// loop; but many offsets may point at the same large object. A read budget proportional to the file
// size bounds the total work whatever the offsets say.

import { ByteBuffer } from 'flatbuffers';
import { modelError } from '../ir/errors.ts';

const utf8 = new TextDecoder('utf-8');

export class FlatBuffer {
  readonly bb: ByteBuffer;
  readonly size: number;
  private budget: number;

  constructor(
    readonly bytes: Uint8Array,
    /** Prefix of every error message, usually the file name. */
    readonly label: string,
  ) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    this.budget = 2 * bytes.length + 4096;
  }

  fail(where: string, what: string): never {
    throw modelError(`${this.label}: ${where}: ${what}`);
  }

  /** Charges `units` elements of reading; legitimate files read each element about once. */
  spend(units: number, where: string): void {
    this.budget -= units;
    if (this.budget < 0) this.fail(where, 'offsets refer to the same data over and over (the file is malformed)');
  }

  /** Fails unless [pos, pos + length) lies inside the buffer. */
  need(pos: number, length: number, where: string, what: string): void {
    if (!(pos >= 0 && pos + length <= this.size)) {
      this.fail(where, `${what} at byte ${pos} (${length} bytes) lies outside the ${this.size}-byte file`);
    }
  }

  /** The 4-character file identifier after the root offset, or '' if the file is too short. */
  identifier(): string {
    if (this.size < 8) return '';
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }

  root(where: string): Table {
    this.need(0, 8, where, 'the root offset and file identifier');
    return this.table(this.bb.readUint32(0), where);
  }

  table(pos: number, where: string): Table {
    this.spend(1, where);
    this.need(pos, 4, where, 'table');
    const vtable = pos - this.bb.readInt32(pos);
    this.need(vtable, 4, where, 'vtable');
    if (vtable % 2 !== 0) this.fail(where, `vtable at byte ${vtable} is misaligned`);
    const vtableSize = this.bb.readUint16(vtable);
    const objectSize = this.bb.readUint16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) this.fail(where, `vtable at byte ${vtable} has an invalid size ${vtableSize}`);
    this.need(vtable, vtableSize, where, 'vtable');
    if (objectSize < 4) this.fail(where, `table at byte ${pos} has an invalid size ${objectSize}`);
    this.need(pos, objectSize, where, 'table');
    return new Table(this, pos, vtable, vtableSize, objectSize, where);
  }
}

interface VectorSpan {
  start: number;
  length: number;
}

export class Table {
  constructor(
    private readonly fb: FlatBuffer,
    readonly pos: number,
    private readonly vtable: number,
    private readonly vtableSize: number,
    private readonly objectSize: number,
    /** Where this table is in the model, for messages ("subgraph 0 tensor 3"). */
    readonly where: string,
  ) {}

  /** The same table, described differently in messages (e.g. once its name is known). */
  describedAs(where: string): Table {
    return new Table(this.fb, this.pos, this.vtable, this.vtableSize, this.objectSize, where);
  }

  /** Absolute position of a field of `width` bytes, or 0 when the field is absent. */
  private slot(field: number, width: number): number {
    const entry = 4 + 2 * field;
    if (entry + 2 > this.vtableSize) return 0;
    const offset = this.fb.bb.readUint16(this.vtable + entry);
    if (offset === 0) return 0;
    if (offset < 4 || offset + width > this.objectSize) {
      this.fb.fail(this.where, `field ${field} at offset ${offset} lies outside its ${this.objectSize}-byte table`);
    }
    return this.pos + offset;
  }

  has(field: number): boolean {
    return this.slot(field, 1) !== 0;
  }

  int8(field: number, fallback = 0): number {
    const at = this.slot(field, 1);
    return at ? this.fb.bb.readInt8(at) : fallback;
  }

  uint8(field: number, fallback = 0): number {
    const at = this.slot(field, 1);
    return at ? this.fb.bb.readUint8(at) : fallback;
  }

  bool(field: number, fallback = false): boolean {
    const at = this.slot(field, 1);
    return at ? this.fb.bb.readUint8(at) !== 0 : fallback;
  }

  int32(field: number, fallback = 0): number {
    const at = this.slot(field, 4);
    return at ? this.fb.bb.readInt32(at) : fallback;
  }

  uint32(field: number, fallback = 0): number {
    const at = this.slot(field, 4);
    return at ? this.fb.bb.readUint32(at) : fallback;
  }

  float32(field: number, fallback = 0): number {
    const at = this.slot(field, 4);
    return at ? this.fb.bb.readFloat32(at) : fallback;
  }

  uint64(field: number, fallback = 0): number {
    const at = this.slot(field, 8);
    return at ? this.safe(this.fb.bb.readUint64(at), `field ${field}`) : fallback;
  }

  /** Position of the object an offset field points at, checked to leave room for its 4-byte header. */
  private target(field: number, what: string): number | undefined {
    const at = this.slot(field, 4);
    if (!at) return undefined;
    const target = at + this.fb.bb.readUint32(at);
    this.fb.need(target, 4, this.where, what);
    return target;
  }

  table(field: number, where: string): Table | undefined {
    const target = this.target(field, where);
    return target === undefined ? undefined : this.fb.table(target, where);
  }

  private vector(field: number, elementSize: number, what: string): VectorSpan | undefined {
    const target = this.target(field, what);
    if (target === undefined) return undefined;
    const length = this.fb.bb.readUint32(target);
    this.fb.need(target + 4, length * elementSize, this.where, `${what} of ${length} elements`);
    return { start: target + 4, length };
  }

  /** Fails when a vector is longer than `limit` before reading any of it. */
  private bounded(span: VectorSpan | undefined, limit: number, what: string): VectorSpan | undefined {
    if (span && span.length > limit) this.fb.fail(this.where, `${what} has ${span.length} entries (at most ${limit} allowed)`);
    if (span) this.fb.spend(span.length, this.where);
    return span;
  }

  int32s(field: number, what: string, limit = Infinity): number[] | undefined {
    const span = this.bounded(this.vector(field, 4, what), limit, what);
    if (!span) return undefined;
    const out = new Array<number>(span.length);
    for (let i = 0; i < span.length; i++) out[i] = this.fb.bb.readInt32(span.start + 4 * i);
    return out;
  }

  float32s(field: number, what: string): number[] | undefined {
    const span = this.bounded(this.vector(field, 4, what), Infinity, what);
    if (!span) return undefined;
    const out = new Array<number>(span.length);
    for (let i = 0; i < span.length; i++) out[i] = this.fb.bb.readFloat32(span.start + 4 * i);
    return out;
  }

  int64s(field: number, what: string): number[] | undefined {
    const span = this.bounded(this.vector(field, 8, what), Infinity, what);
    if (!span) return undefined;
    const out = new Array<number>(span.length);
    for (let i = 0; i < span.length; i++) out[i] = this.safe(this.fb.bb.readInt64(span.start + 8 * i), what);
    return out;
  }

  /** A view (not a copy) of a byte vector. */
  bytes(field: number, what: string): Uint8Array | undefined {
    const span = this.vector(field, 1, what);
    if (!span) return undefined;
    this.fb.spend(1, this.where);
    return this.fb.bytes.subarray(span.start, span.start + span.length);
  }

  string(field: number, what: string): string | undefined {
    const span = this.bounded(this.vector(field, 1, what), Infinity, what);
    return span && utf8.decode(this.fb.bytes.subarray(span.start, span.start + span.length));
  }

  /** A vector of tables; `whereOf(i)` names element i in messages. */
  tables(field: number, what: string, whereOf: (index: number) => string): Table[] | undefined {
    const span = this.bounded(this.vector(field, 4, what), Infinity, what);
    if (!span) return undefined;
    const out = new Array<Table>(span.length);
    for (let i = 0; i < span.length; i++) {
      const at = span.start + 4 * i;
      out[i] = this.fb.table(at + this.fb.bb.readUint32(at), whereOf(i));
    }
    return out;
  }

  private safe(value: bigint, what: string): number {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) this.fb.fail(this.where, `${what} holds ${value}, beyond the exactly representable range`);
    return n;
  }
}
