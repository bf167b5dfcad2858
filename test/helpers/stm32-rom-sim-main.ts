// Runs the simulated STM32F405 ROM bootloader on a pty, for trying a client by hand:
//   socat pty,raw,echo=0,link=sim-device pty,raw,echo=0,link=sim-host &
//   node --import=tsx test/helpers/stm32-rom-sim-main.ts sim-device [--read-protected] [--erase-ms 1500] [--flash-fill 0x00]
//   stm32flash -m 8n1 -b 115200 -w firmware.bin -v -g 0x08000000 sim-host
// It prints each command it serves; Ctrl-C ends it.

import { parseArgs } from 'node:util';
import { openSerialPort } from '../../src/device/serial.ts';
import { Stm32RomSim } from './stm32-rom-sim.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'read-protected': { type: 'boolean' },
    'erase-ms': { type: 'string' },
    'flash-fill': { type: 'string' },
  },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: stm32-rom-sim-main.ts <pty> [--read-protected] [--erase-ms N] [--flash-fill 0xNN]\n');
  process.exit(2);
}
const transport = await openSerialPort(positionals[0], { baud: 115200, parity: 'none' });
const sim = new Stm32RomSim(transport, {
  readProtected: values['read-protected'] ?? false,
  faults: values['erase-ms'] === undefined ? {} : { eraseMs: Number(values['erase-ms']) },
  flashFill: values['flash-fill'] === undefined ? undefined : Number(values['flash-fill']),
  onEvent: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`simulated STM32F405 ROM bootloader (3.1, PID 0x413) on ${positionals[0]}\n`);
process.on('SIGINT', async () => {
  await sim.stop();
  await transport.close();
  process.stdout.write(`erased sectors: ${sim.erasedSectors.join(', ') || 'none'}; started: ${sim.startedAt === null ? 'no' : `0x${sim.startedAt.toString(16)}`}\n`);
  process.exit(0);
});
