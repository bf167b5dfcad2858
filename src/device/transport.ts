// A byte pipe to a device: a real serial port, or the console UART of a board in QEMU. The
// flasher and the HIL runner are written against this, so a test can put a proxy in between.

export interface Transport {
  /** What the user would recognise: the port path, or the emulated board. */
  readonly name: string;
  /** Queues bytes for the device; never blocks. */
  write(bytes: Uint8Array): void;
  /** Calls `listener` with every chunk of bytes that arrives; returns the function that detaches it. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** Settles, with the reason, if the device goes away by itself (an emulator that exited). */
  readonly gone?: Promise<string>;
  /** Releases the port (or stops the emulator); safe to call twice. */
  close(): Promise<void>;
}
