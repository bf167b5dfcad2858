// A serial port as a Transport: 8 data bits, 1 stop bit, even or no parity, no flow control.

import { SerialPort } from 'serialport';
import { EdgecError } from '../ir/errors.ts';
import type { Transport } from './transport.ts';

export interface SerialOptions {
  baud: number;
  /** 'even' for the STM32 ROM bootloader (8E1); 'none' for pseudo-terminals, which cannot do parity. */
  parity: 'even' | 'none';
}

/** The checks that fix each way opening a port fails, keyed by what the OS said. */
const OPEN_FAILURES: [RegExp, string][] = [
  [/No such file or directory/i, 'no such device: check the path, and that the adapter is plugged in (ls /dev/ttyUSB* /dev/ttyACM*)'],
  [/Permission denied/i, 'permission denied: add yourself to the group that owns the port (usually dialout: sudo usermod -aG dialout $USER, then log in again)'],
  [/Cannot lock port|Resource temporarily unavailable|busy/i, 'the port is busy: another program has it open (a terminal, stm32flash, a HIL run): close it'],
  [/Inappropriate ioctl|Not a typewriter/i, 'this is not a serial port'],
];

export async function openSerialPort(path: string, options: SerialOptions): Promise<Transport> {
  const port = new SerialPort({ path, baudRate: options.baud, parity: options.parity, dataBits: 8, stopBits: 1, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  } catch (e) {
    const reason = (e as Error).message;
    const hint = OPEN_FAILURES.find(([pattern]) => pattern.test(reason))?.[1];
    throw new EdgecError('tool', `cannot open serial port ${path}: ${hint ?? reason}`, hint ? [reason] : []);
  }
  // A port that fails later (an adapter unplugged) says so on the next write, naming the cause.
  let failure: Error | null = null;
  port.on('error', (e) => (failure = e));
  port.on('close', (e: Error | null) => (failure ??= e));
  let closed: Promise<void> | null = null;
  return {
    name: path,
    write(bytes) {
      if (failure) throw new EdgecError('tool', `serial port ${path} failed: ${failure.message}`);
      port.write(Buffer.from(bytes));
    },
    onData(listener) {
      const handler = (chunk: Buffer) => listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      port.on('data', handler);
      return () => port.off('data', handler);
    },
    close() {
      closed ??= port.isOpen ? new Promise<void>((resolve) => port.close(() => resolve())) : Promise.resolve();
      return closed;
    },
  };
}
