// The host's end of the HIL protocol: asks the board who it is and has it run samples, one at a
// time, trusting only frames whose CRC holds. A lost or corrupt frame, an ERROR from the board or
// a reset (a HELLO out of turn) costs a resend of the same sample; a silent board costs a timeout
// and a resend, until the retry budget is spent. The answer to a sample is taken once, from the
// OUTPUT that carries its seq, so no sample is counted twice.

import { EdgecError } from '../ir/errors.ts';
import { encodeFrame, FrameDecoder, MSG, NO_SEQ, parseHello, PROTOCOL_VERSION, type Frame, type Hello } from './protocol.ts';
import type { Transport } from './transport.ts';

export interface LinkOptions {
  /** Sends of one frame before the link gives up (default 8: on a link that damages one frame in
   *  three, a sample still fails only once in 6,500). */
  attempts?: number;
  /** Longest wait for an answer before the first one has arrived (default 10 s); afterwards the
   *  wait is four times the slowest of the last answers, at least `minTimeoutMs`. */
  firstTimeoutMs?: number;
  minTimeoutMs?: number;
}

/** What the link had to recover from: every count is of an event it survived. */
export interface LinkStats {
  resends: number;
  timeouts: number;
  /** Runs of bytes between delimiters whose CRC or COBS did not hold. */
  badFrames: number;
  /** ERROR frames from the board (it received something it could not use). */
  boardErrors: number;
  /** HELLOs out of turn: the board restarted. */
  resets: number;
  /** Answers to an earlier send of a sample already answered. */
  staleAnswers: number;
}

export interface Answer {
  cycles: number;
  /** Every output tensor's bytes, concatenated. */
  outputs: Uint8Array;
  /** A profiling build's cycles per op (empty otherwise). */
  layerCycles: number[];
}

type Wanted = (frame: Frame) => boolean;

/** The longest wait after repeated silence, in units of the usual one. */
const MAX_PATIENCE = 8;

/** How many recent round trips pace the waits. */
const RECENT_ANSWERS = 32;

/** Stands in for a frame when the transport reports the device gone, to wake whoever waits. */
const GONE: Frame = { type: -1, seq: NO_SEQ, payload: new Uint8Array() };

export class HilLink {
  readonly stats: LinkStats = { resends: 0, timeouts: 0, badFrames: 0, boardErrors: 0, resets: 0, staleAnswers: 0 };
  private hello: Hello | null = null;
  private readonly decoder = new FrameDecoder();
  private readonly detach: () => void;
  private waiter: { wanted: Wanted; resolve: (f: Frame) => void } | null = null;
  /** Frames that arrived while nobody waited (a HELLO at boot, before connect()). */
  private backlog: Frame[] = [];
  /** Round trips of the latest clean answers: the link's pace now, not its worst moment ever. */
  private recentMs: number[] = [];
  private goneReason: string | null = null;
  private readonly attempts: number;
  private readonly firstTimeoutMs: number;
  private readonly minTimeoutMs: number;
  /** Bytes seen that belong to no valid frame, kept for the message when the board goes silent. */
  private lastGarbage = '';

  constructor(
    private readonly transport: Transport,
    options: LinkOptions = {},
  ) {
    this.attempts = options.attempts ?? 8;
    this.firstTimeoutMs = options.firstTimeoutMs ?? 10_000;
    this.minTimeoutMs = options.minTimeoutMs ?? 1000;
    this.detach = transport.onData((bytes) => this.receive(bytes));
    transport.gone?.then((why) => {
      this.goneReason = why;
      this.waiter?.resolve(GONE);
    });
  }

  private receive(bytes: Uint8Array): void {
    for (const got of this.decoder.push(bytes)) {
      if (!got.ok) {
        this.stats.badFrames++;
        continue;
      }
      const frame = got.frame;
      if (this.waiter?.wanted(frame)) {
        const { resolve } = this.waiter;
        this.waiter = null;
        resolve(frame);
      } else {
        this.unwanted(frame);
      }
    }
    const text = Buffer.from(bytes).toString('latin1').replace(/[^\x20-\x7e\n]/g, '');
    if (text.trim()) this.lastGarbage = (this.lastGarbage + text).slice(-200);
  }

  /** A frame nobody waits for: an answer to a send already answered, an ERROR drawn by the
   *  pieces of a damaged frame, a HELLO after a reset between samples, or the HELLO at boot. */
  private unwanted(frame: Frame): void {
    if (frame.type === MSG.output) this.stats.staleAnswers++;
    else if (frame.type === MSG.error) this.stats.boardErrors++;
    else if (frame.type === MSG.hello && this.hello) this.stats.resets++;
    else if (frame.type === MSG.hello) this.backlog.push(frame);
  }

  /** About one round trip: how long the pieces of one damaged frame take to be answered. */
  private settleMs(): number {
    if (this.recentMs.length === 0) return this.firstTimeoutMs / 20;
    const sorted = [...this.recentMs].sort((a, b) => a - b);
    return Math.max(50, 1.5 * sorted[sorted.length >> 1]);
  }

  private timeoutMs(): number {
    return this.recentMs.length === 0 ? this.firstTimeoutMs : Math.max(this.minTimeoutMs, 4 * Math.max(...this.recentMs));
  }

  /** The next frame `wanted` accepts, or null after the timeout. */
  private next(wanted: Wanted, timeoutMs = this.timeoutMs()): Promise<Frame | null> {
    const queued = this.backlog.findIndex(wanted);
    if (queued >= 0) return Promise.resolve(this.backlog.splice(queued, 1)[0]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = {
        wanted,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
    });
  }

  private checkGone(): void {
    if (this.goneReason !== null) {
      throw new EdgecError('tool', `${this.transport.name}: the board went away: ${this.goneReason}`, this.garbageDetail());
    }
  }

  private garbageDetail(): string[] {
    return this.lastGarbage.trim() ? [`last text from the board: ${JSON.stringify(this.lastGarbage.trim())}`] : [];
  }

  /** Asks the board for its HELLO (it may have sent one at boot, before anyone listened). */
  async connect(): Promise<Hello> {
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      this.checkGone();
      const boot = this.backlog.findIndex((f) => f.type === MSG.hello);
      if (boot < 0) this.send({ type: MSG.helloRequest, seq: NO_SEQ, payload: new Uint8Array() }, attempt);
      const frame = await this.next((f) => f.type === MSG.hello || f === GONE);
      this.checkGone();
      if (!frame) {
        this.stats.timeouts++;
        continue;
      }
      const hello = parseHello(frame.payload);
      if (!hello) throw new EdgecError('tool', `${this.transport.name}: the board's HELLO does not parse: is this an edgec HIL firmware (edgec build --hil)?`);
      if (hello.version !== PROTOCOL_VERSION) {
        throw new EdgecError('tool', `${this.transport.name}: the board speaks HIL protocol ${hello.version}, this edgec speaks ${PROTOCOL_VERSION}: rebuild the firmware with this edgec`);
      }
      this.hello = hello;
      this.backlog = [];
      return hello;
    }
    throw new EdgecError(
      'tool',
      `${this.transport.name}: no HELLO from the board after ${this.attempts} requests`,
      ['check that the firmware was built with edgec build --hil and is running, the port and the baud rate', ...this.garbageDetail()],
    );
  }

  private send(frame: Frame, attempt: number): void {
    if (attempt > 0) this.stats.resends++;
    this.transport.write(encodeFrame(frame));
  }

  /** The OUTPUT for `seq` if it comes before the board has been quiet for a settle time (ERRORs
   *  restart the wait, up to one timeout in all); null once it is quiet. */
  private async quietOrAnswer(seq: number): Promise<Frame | null> {
    const until = Date.now() + this.timeoutMs();
    while (Date.now() < until) {
      const frame = await this.next((f) => (f.type === MSG.output && f.seq === seq) || f.type === MSG.error || f === GONE, this.settleMs());
      if (!frame) return null;
      if (frame.type !== MSG.error) return frame;
      this.stats.boardErrors++;
    }
    return null;
  }

  /**
   * Runs one sample on the board. `seq` tells this sample's answer from any other's. With `carry`
   * the model's recurrent state carries over from the previous sample; such a frame is resent only
   * after the board reported it damaged (never run), since running it twice would corrupt the state.
   */
  async infer(seq: number, input: Uint8Array, what: string, carry = false): Promise<Answer> {
    const hello = this.hello;
    if (!hello) throw new Error('HilLink.infer before connect');
    const outputBytes = hello.outputs.reduce((n, o) => n + o.bytes, 0);
    const frame = { type: carry ? MSG.inputCarry : MSG.input, seq: seq & 0xffff, payload: input };
    const stateLost = (why: string) =>
      new EdgecError('tool', `${this.transport.name}: ${what}: ${why} during a stateful run; the model's state on the board is no longer known, so the run stops (rerun it, or run without --stateful)`);
    const wanted: Wanted = (f) => (f.type === MSG.output && f.seq === frame.seq) || f.type === MSG.error || f.type === MSG.hello || f === GONE;
    const events: string[] = [];
    // Each silence doubles the next wait (up to 8 times): a stalled host or emulator catches up
    // instead of being buried under resends of frames it has not read yet.
    let patience = 1;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      this.checkGone();
      const sent = Date.now();
      this.send(frame, attempt);
      const waitMs = patience * this.timeoutMs();
      let answer = await this.next(wanted, waitMs);
      this.checkGone();
      if (!answer) {
        if (carry) throw stateLost('no answer in time');
        this.stats.timeouts++;
        events.push(`no answer within ${waitMs} ms`);
        patience = Math.min(MAX_PATIENCE, 2 * patience);
        continue;
      }
      if (answer.type === MSG.error) {
        this.stats.boardErrors++;
        events.push(`the board reported: ${Buffer.from(answer.payload.subarray(1)).toString('latin1')}`);
        // Each piece of a damaged frame between two zeros draws its own ERROR, older sends may
        // still be queued in front of this one, and the good answer may yet come: wait until
        // the board has been quiet for a while (counting the ERRORs meanwhile) before sending
        // again, so that damage never piles frames up on a slow link.
        const late = await this.quietOrAnswer(frame.seq);
        this.checkGone();
        if (!late) continue;
        answer = late;
      } else if (answer.type === MSG.output) {
        this.recentMs = [...this.recentMs.slice(-(RECENT_ANSWERS - 1)), Date.now() - sent];
      }
      if (answer.type === MSG.hello) {
        if (carry) throw stateLost('the board restarted');
        this.stats.resets++;
        const again = parseHello(answer.payload);
        if (!again || again.modelHash !== hello.modelHash) {
          throw new EdgecError('tool', `${this.transport.name}: the board restarted with a different model (hash ${again?.modelHash ?? '?'}, was ${hello.modelHash})`);
        }
        events.push('the board restarted');
        continue;
      }
      const layerBytes = 4 * hello.profiledLayers;
      if (answer.payload.length !== 4 + outputBytes + layerBytes) {
        throw new EdgecError('tool', `${this.transport.name}: ${what}: the board answered ${answer.payload.length - 4} bytes after the cycle count, its HELLO promised ${outputBytes} output bytes and ${layerBytes} of layer cycles`);
      }
      const view = new DataView(answer.payload.buffer, answer.payload.byteOffset, answer.payload.byteLength);
      const layers = Array.from({ length: hello.profiledLayers }, (_, k) => view.getUint32(4 + outputBytes + 4 * k, true));
      return { cycles: view.getUint32(0, true), outputs: answer.payload.slice(4, 4 + outputBytes), layerCycles: layers };
    }
    throw new EdgecError('tool', `${this.transport.name}: ${what}: no good answer after ${this.attempts} sends; the board may have hung`, [
      ...events.map((e, i) => `send ${i + 1}: ${e}`),
      ...this.garbageDetail(),
    ]);
  }

  close(): void {
    this.detach();
  }
}
