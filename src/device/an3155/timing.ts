// How long to wait for each answer of the ROM bootloader. AN3155 gives no times: the ROM answers
// a command, an address or a length as soon as the bytes are in. What takes time is flash work,
// and the STM32F405/407 datasheet (DS8626, "Flash memory programming" table) gives its maxima:
//   word programming             100 us
//   16 KiB sector erase          800 ms at x8 parallelism (500 ms at x32)
//   64 KiB sector erase        2,400 ms at x8           (1,100 ms at x32)
//   128 KiB sector erase       4,000 ms at x8           (2,000 ms at x32)
//   mass erase                    32 s at x8               (16 s at x32)
// The parallelism the ROM uses depends on the supply voltage, so the waits take the slowest (x8)
// figures and triples them. Bytes in flight count too: Transport.write only queues them.

/**
 * Answers that need no flash work: the ROM's come within microseconds; the wait covers a USB-serial
 * adapter's latency (16 ms on an FTDI) and a host too busy to read them for a while.
 */
export const ANSWER_MS = 2000;

/** One wait for the answer to a sync byte; the UART ROM answers it at once (it only measures the baud rate). */
export const SYNC_ANSWER_MS = 300;

/** The longest wait for a line to fall quiet before a sync: a started firmware may talk on. */
export const SETTLE_MAX_MS = 3000;

const WORD_PROGRAM_MAX_MS = 0.1;
const SECTOR_128K_ERASE_MAX_MS = 4000;
const SMALLEST_SECTOR_ERASE_MAX_MS = 800;
const MASS_ERASE_MAX_MS = 32_000;
const MARGIN = 3;

/** Time the line needs for `bytes` at `baud`, with a start bit, 8 data bits, a parity bit and a stop bit. */
export function lineMs(bytes: number, baud: number): number {
  return (bytes * 11 * 1000) / baud;
}

/** Erasing one sector of `size` bytes (the datasheet's times grow with size, with a floor for small sectors). */
export function sectorEraseMs(size: number): number {
  return MARGIN * Math.max(SMALLEST_SECTOR_ERASE_MAX_MS, (SECTOR_128K_ERASE_MAX_MS * size) / (128 * 1024));
}

/** READOUT_UNPROTECT's second answer comes after a mass erase. */
export const UNPROTECT_MS = MARGIN * MASS_ERASE_MAX_MS;

/** The answer after a WRITE_MEMORY data frame: its bytes on the line, then programming every word. */
export function writeBlockMs(dataBytes: number, baud: number): number {
  return ANSWER_MS + lineMs(dataBytes + 2, baud) + MARGIN * (dataBytes / 4) * WORD_PROGRAM_MAX_MS;
}

/** The data of a READ_MEMORY: its bytes on the line. */
export function readBlockMs(dataBytes: number, baud: number): number {
  return ANSWER_MS + lineMs(dataBytes, baud);
}

