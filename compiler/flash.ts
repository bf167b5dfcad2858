// `edgec flash`: an image through the STM32 ROM bootloader on a serial port, with progress on
// stderr and a summary of what was done.

import { checkFlashable, flashImage, loadFlashImage, type FlashProgress } from '../src/device/an3155/index.ts';
import { hex32 } from '../src/device/an3155/protocol.ts';
import { openSerialPort } from '../src/device/serial.ts';
import { usageError } from '../src/ir/errors.ts';
import type { ParsedArgs } from './args.ts';
import { progress } from './progress.ts';
import { thousands } from './table.ts';


const LABELS: Record<FlashProgress['phase'], string> = { erase: 'erasing sectors', write: 'writing bytes', verify: 'verifying bytes' };

export async function flashCommand(args: ParsedArgs, usage: string): Promise<{ output: string; json: unknown }> {
  const port = args.values.get('port')?.[0];
  if (!port) throw usageError(`edgec flash: --port <path> is required (the serial port wired to the board's bootloader USART)\nusage: ${usage}`);
  const baudText = args.values.get('baud')?.[0] ?? '115200';
  const baud = Number(baudText);
  if (!Number.isSafeInteger(baud) || baud <= 0) throw usageError(`edgec flash: --baud '${baudText}' is not a baud rate`);
  const parity = args.values.get('parity')?.[0] ?? 'even';

  const image = loadFlashImage(args.positionals[0], args.values.get('board')?.[0]);
  checkFlashable(image.board);
  const started = Date.now();
  const transport = await openSerialPort(port, { baud, parity: parity as 'even' | 'none' });
  const bars = phaseProgress();
  try {
    const report = await flashImage({
      transport,
      baud,
      board: image.board,
      image: image.bytes,
      address: image.address,
      verify: !args.switches.has('no-verify'),
      go: !args.switches.has('no-go'),
      unprotect: args.switches.has('unprotect'),
      onProgress: bars.update,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const sectors = report.erasedSectors;
    const erasedBytes = sectors.reduce((sum, n) => sum + image.board.flashSectors![n].size, 0);
    const json = {
      image: image.file,
      board: image.board.name,
      port,
      seconds: Number(seconds),
      productId: report.productId,
      bootloaderVersion: `${report.bootloaderVersion >> 4}.${report.bootloaderVersion & 0xf}`,
      unprotected: report.unprotected,
      erasedSectors: sectors,
      erasedBytes,
      address: image.address,
      bytesWritten: report.bytesWritten,
      verified: report.verified,
      startedAt: report.startedAt,
      retries: report.retries,
    };
    const output = [
      `flashed ${image.file} to ${image.board.name} on ${port} in ${seconds} s`,
      `  device     product id 0x${report.productId.toString(16)}, bootloader ${report.bootloaderVersion >> 4}.${report.bootloaderVersion & 0xf}`,
      ...(report.unprotected ? ['  unprotect  read protection removed: the whole flash was erased'] : []),
      `  erased     sector${sectors.length === 1 ? '' : 's'} ${sectors.join(', ')} (${erasedBytes / 1024} KiB)`,
      `  written    ${thousands(report.bytesWritten)} bytes at ${hex32(image.address)}${report.verified ? ', read back equal' : ' (not verified: --no-verify)'}`,
      `  started    ${report.startedAt === null ? 'no (--no-go): the bootloader still runs' : `at ${hex32(report.startedAt)}`}`,
      ...(report.retries > 0 ? [`  retries    ${report.retries} (commands sent again after a refusal or a lost answer)`] : []),
    ].join('\n');
    return { output, json };
  } finally {
    bars.end();
    await transport.close();
  }
}

/** One progress line per phase: erase, write, verify. */
function phaseProgress() {
  let current: { phase: FlashProgress['phase']; bar: ReturnType<typeof progress> } | undefined;
  return {
    update({ phase, done, total }: FlashProgress): void {
      if (current?.phase !== phase) {
        current?.bar.end();
        current = { phase, bar: progress(LABELS[phase]) };
      }
      current.bar.update(done, total);
    },
    end(): void {
      current?.bar.end();
      current = undefined;
    },
  };
}
