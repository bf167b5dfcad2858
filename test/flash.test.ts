// edgec flash against a simulated STM32F405 ROM bootloader on a pty pair (socat): a real firmware
// written, read back and started through the CLI and the library; every fault the simulator can
// put on the line ending in a recovered flash or a clear error; and Debian's stm32flash, a client
// nobody here wrote, against the same simulator to check the simulator itself.

import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { flashImage, loadFlashImage, type FlashOptions, type FlashProgress, type FlashReport } from '../src/device/an3155/index.ts';
import { openSerialPort } from '../src/device/serial.ts';
import { EdgecError } from '../src/ir/errors.ts';
import { loadBoard } from '../src/toolchain/index.ts';
import { missingTool } from './helpers/tools.ts';
import { FLASH_ORIGIN, SECTOR_SIZES, SIM_PRODUCT_ID, Stm32RomSim, type SimOptions } from './helpers/stm32-rom-sim.ts';

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-flash-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const BAUD = 115200;
/** What the simulated flash holds before a test: an older firmware, so erasing shows. */
const OLD = 0x5a;
const board = loadBoard('stm32f4');

function installed(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** A synthetic image over sectors 0 and 1, its length not a whole number of words. */
const image = Uint8Array.from({ length: 20_003 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);

async function ptyPair(t: ExecutionContext): Promise<{ device: string; host: string }> {
  const dir = mkdtempSync(join(scratch, 'pty-'));
  const device = join(dir, 'device');
  const host = join(dir, 'host');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`], { stdio: 'ignore' });
  t.teardown(() => {
    if (socat.exitCode === null && socat.signalCode === null) process.kill(socat.pid!);
  });
  for (let tries = 0; !(existsSync(device) && existsSync(host)); tries++) {
    if (tries === 250 || socat.exitCode !== null) throw new Error('socat did not make the pty pair');
    await sleep(20);
  }
  return { device, host };
}

/** A simulator on one end of a fresh pty pair; `port` is the other end, for the client. */
async function simulator(t: ExecutionContext, options: SimOptions = {}): Promise<{ sim: Stm32RomSim; port: string }> {
  const { device, host } = await ptyPair(t);
  const transport = await openSerialPort(device, { baud: BAUD, parity: 'none' });
  const sim = new Stm32RomSim(transport, { flashFill: OLD, ...options });
  t.teardown(async () => {
    await sim.stop();
    await transport.close();
  });
  return { sim, port: host };
}

async function flash(port: string, bytes: Uint8Array, options: Partial<FlashOptions> = {}): Promise<FlashReport> {
  const transport = await openSerialPort(port, { baud: BAUD, parity: 'none' });
  try {
    return await flashImage({ transport, baud: BAUD, board, image: bytes, address: FLASH_ORIGIN, ...options });
  } finally {
    await transport.close();
  }
}

function edgecCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [edgec, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The sectors of the F405 that hold any of `length` bytes from the flash origin (RM0090's map). */
function sectorsUnder(length: number): number[] {
  let start = 0;
  return SECTOR_SIZES.flatMap((size, i) => {
    const covered = start < length;
    start += size;
    return covered ? [i] : [];
  });
}

/** The image is in flash, the rest of the sectors it covers is erased, and every other byte is as before. */
function assertFlashed(t: ExecutionContext, sim: Stm32RomSim, bytes: Uint8Array, rest = OLD): void {
  const flash = sim.flashAt(FLASH_ORIGIN, SECTOR_SIZES.reduce((a, b) => a + b));
  const sectors = sectorsUnder(bytes.length);
  const erasedEnd = SECTOR_SIZES.slice(0, sectors.length).reduce((a, b) => a + b, 0);
  const wrong = flash.findIndex((b, i) => b !== (i < bytes.length ? bytes[i] : i < erasedEnd ? 0xff : rest));
  t.is(wrong, -1, `flash differs at 0x${(FLASH_ORIGIN + wrong).toString(16)}`);
}

const missingToolchain = missingTool('arm-none-eabi-gcc');
const missingSocat = installed('socat') ? null : 'socat is not installed (apt-get install socat)';
const missingStm32flash = installed('stm32flash') ? null : 'stm32flash is not installed (apt-get install stm32flash)';

/** Runs at most `n` jobs at once, the others waiting their turn. */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

// Each test runs a socat and a simulator, and the simulator shares this process with the
// library's client: a few at a time keep a two-core machine answering as a device would.
const slot = limiter(4);

/** Registers a test that needs tools, or a skipped test that names the missing one. */
function testWith(missing: (string | null)[], title: string, body: (t: ExecutionContext) => Promise<void>): void {
  const reason = missing.find((m) => m !== null);
  if (reason) test.skip(`${title} (skipped: ${reason})`, () => {});
  else test(title, (t) => slot(() => body(t)));
}

// A real firmware: TFLite Micro's micro_speech model built for stm32f4 (about 27 KB), by the CLI
// in its own process so that code generation does not hold up the simulator in this one.
let firmwareBuild: Promise<string> | undefined;
function firmware(): Promise<string> {
  firmwareBuild ??= (async () => {
    const dir = join(scratch, 'micro_speech');
    const r = await edgecCli('build', join(oracles, 'micro_speech', 'model.tflite'), '--board', 'stm32f4', '-o', dir);
    if (r.code !== 0) throw new Error(`edgec build failed: ${r.stderr}`);
    return dir;
  })();
  return firmwareBuild;
}

testWith([missingSocat, missingToolchain], 'edgec flash writes a build folder, reads it back equal and starts it', async (t) => {
  const dir = await firmware();
  const bin = new Uint8Array(readFileSync(join(dir, 'micro_speech.bin')));
  const { sim, port } = await simulator(t);
  const started = Date.now();
  const r = await edgecCli('flash', dir, '--port', port, '--parity', 'none');
  t.log(`flashed ${bin.length} bytes in ${Date.now() - started} ms (CLI start included)`);
  t.is(r.code, 0, r.stderr);
  const sectors = sectorsUnder(bin.length);
  const kib = SECTOR_SIZES.slice(0, sectors.length).reduce((a, b) => a + b, 0) / 1024;
  t.regex(r.stdout, new RegExp(`erased {5}sectors ${sectors.join(', ')} \\(${kib} KiB\\)`));
  t.regex(r.stdout, new RegExp(`written {4}${bin.length.toLocaleString('en-US')} bytes at 0x08000000, read back equal`));
  t.regex(r.stdout, /started {4}at 0x08000000/);
  assertFlashed(t, sim, bin);
  const again = await simulator(t);
  const json = JSON.parse((await edgecCli('flash', dir, '--port', again.port, '--parity', 'none', '--json')).stdout) as Record<string, unknown>;
  t.like(json, { board: 'stm32f4', address: FLASH_ORIGIN, bytesWritten: bin.length, verified: true, startedAt: FLASH_ORIGIN, erasedSectors: sectors, retries: 0 });
  t.deepEqual(sim.erasedSectors, sectors);
  t.is(sim.startedAt, FLASH_ORIGIN);
});

testWith([missingSocat, missingToolchain], 'the library flashes the ELF: the same bytes as the .bin, with progress for each phase', async (t) => {
  const dir = await firmware();
  const elf = loadFlashImage(join(dir, 'micro_speech.elf'));
  const bin = new Uint8Array(readFileSync(join(dir, 'micro_speech.bin')));
  t.is(elf.address, FLASH_ORIGIN);
  t.deepEqual(elf.bytes, bin);
  const { sim, port } = await simulator(t);
  const seen: FlashProgress[] = [];
  const report = await flash(port, elf.bytes, { onProgress: (p) => seen.push(p) });
  t.like(report, { productId: SIM_PRODUCT_ID, bootloaderVersion: 0x31, verified: true, startedAt: FLASH_ORIGIN, unprotected: false });
  t.deepEqual(report.erasedSectors, sectorsUnder(bin.length));
  t.is(report.bytesWritten, Math.ceil(bin.length / 4) * 4);
  t.deepEqual([...new Set(seen.map((p) => p.phase))], ['erase', 'write', 'verify']);
  for (const phase of ['erase', 'write', 'verify'] as const) {
    const last = seen.filter((p) => p.phase === phase).at(-1)!;
    t.is(last.done, last.total, phase);
  }
  assertFlashed(t, sim, bin);
  t.is(sim.startedAt, FLASH_ORIGIN);
});

testWith([missingSocat, missingStm32flash, missingToolchain], "Debian's stm32flash writes, verifies and starts the same image on the simulator", async (t) => {
  const dir = await firmware();
  const binFile = join(dir, 'micro_speech.bin');
  const bin = new Uint8Array(readFileSync(binFile));
  const { sim, port } = await simulator(t);
  const child = spawn('stm32flash', ['-m', '8n1', '-b', String(BAUD), '-w', binFile, '-v', '-g', '0x08000000', port]);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.is(code, 0, output);
  t.regex(output, /Device ID {4}: 0x0413/);
  assertFlashed(t, sim, bin);
  t.deepEqual(sim.erasedSectors, sectorsUnder(bin.length));
  t.is(sim.startedAt, FLASH_ORIGIN);
});

const recoverable: [string, SimOptions['faults'], boolean][] = [
  ['WRITE_MEMORY refused twice', { nackCommand: { command: 'WRITE_MEMORY', times: 2 } }, true],
  ['EXTENDED_ERASE refused once', { nackCommand: { command: 'EXTENDED_ERASE', times: 1 } }, true],
  ['GET_ID refused twice', { nackCommand: { command: 'GET_ID', times: 2 } }, true],
  ['the data of one block refused twice', { nackWriteBlock: { address: FLASH_ORIGIN + 0x100, times: 2 } }, true],
  ['a bit flipped in two read-backs', { flipReadBit: { address: FLASH_ORIGIN + 0x1234, times: 2 } }, true],
  ['a byte of a write lost on the line', { dropWriteByte: { times: 1 } }, true],
  ['each sector erase taking 1.5 s', { eraseMs: 1500 }, false],
];

for (const [what, faults, retried] of recoverable) {
  testWith([missingSocat], `recovers when ${what}: flashed and verified`, async (t) => {
    const { sim, port } = await simulator(t, { faults });
    const report = await flash(port, image);
    if (retried) t.true(report.retries > 0);
    assertFlashed(t, sim, image);
    t.deepEqual([...new Set(sim.erasedSectors)], [0, 1]);
    t.is(sim.startedAt, FLASH_ORIGIN);
  });
}

testWith([missingSocat], 'a device still synced from an earlier session is flashed again', async (t) => {
  const { sim, port } = await simulator(t);
  const first = await flash(port, image.subarray(0, 1000), { go: false });
  t.is(first.startedAt, null);
  t.is(sim.startedAt, null);
  t.deepEqual([...new Set(sim.erasedSectors)], [0]);
  await flash(port, image);
  assertFlashed(t, sim, image);
  t.deepEqual([...new Set(sim.erasedSectors)], [0, 1]);
});

const failing: [string, SimOptions['faults'], RegExp, RegExp][] = [
  [
    'EXTENDED_ERASE is always refused',
    { nackCommand: { command: 'EXTENDED_ERASE', times: Infinity } },
    /^EXTENDED_ERASE at 0x08000000 failed on \S+host after 3 tries: NACK to the command$/,
    /read protection .* --unprotect/,
  ],
  [
    'one block is always refused',
    { nackWriteBlock: { address: FLASH_ORIGIN + 0x100, times: Infinity } },
    /^WRITE_MEMORY at 0x08000100 failed on \S+host after 3 tries: NACK to the data$/,
    /write-protected/,
  ],
  [
    'a bit always reads back flipped',
    { flipReadBit: { address: FLASH_ORIGIN + 0x1234, times: Infinity } },
    /^verify failed on \S+host: READ_MEMORY at 0x08001234 gave 0x[0-9a-f]{2} where 0x[0-9a-f]{2} was written \(3 reads agree\)$/,
    /lower --baud/,
  ],
];

for (const [what, faults, message, fix] of failing) {
  testWith([missingSocat], `a clear error when ${what}`, async (t) => {
    const { port } = await simulator(t, { faults });
    const error = await t.throwsAsync(flash(port, image), { instanceOf: EdgecError });
    t.is(error?.kind, 'tool');
    t.regex(error?.message ?? '', message);
    t.regex(error?.details.join('\n') ?? '', fix);
  });
}

testWith([missingSocat], 'a silent device: exit 1 and what to check (BOOT0 and reset, port, baud, parity)', async (t) => {
  const { port } = await simulator(t, { faults: { silent: true } });
  const bin = join(scratch, 'silent.bin');
  writeFileSync(bin, image);
  const r = await edgecCli('flash', bin, '--port', port, '--parity', 'none');
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`no answer from the bootloader on ${port.replace(/[.]/g, '\\.')}: it did not answer the sync byte \\(0x7F\\)`));
  t.regex(r.stderr, /BOOT0 must be high .* press reset/);
  t.regex(r.stderr, /the baud rate \(--baud 115200\)/);
  t.regex(r.stderr, /--parity even/);
});

testWith([missingSocat], 'read protection: refused with the way out, and nothing erased', async (t) => {
  const { sim, port } = await simulator(t, { readProtected: true });
  const bin = join(scratch, 'protected.bin');
  writeFileSync(bin, image);
  const r = await edgecCli('flash', bin, '--port', port, '--parity', 'none');
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /read protection is active on the device on \S+: the bootloader refuses READ_MEMORY at 0x08000000 \(GET and GET_ID work\)/);
  t.regex(r.stderr, /flash again with --unprotect: .*erases the whole flash/);
  t.true(sim.readProtected);
  t.deepEqual(sim.erasedSectors, []);
  t.is(sim.massErases, 0);
  t.true(sim.flash.every((b) => b === OLD));
});

testWith([missingSocat], '--unprotect removes read protection (mass erase, reset, sync again) and flashes', async (t) => {
  const { sim, port } = await simulator(t, { readProtected: true });
  const bin = join(scratch, 'unprotect.bin');
  writeFileSync(bin, image);
  const r = await edgecCli('flash', bin, '--port', port, '--parity', 'none', '--unprotect');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /read protection removed: the whole flash was erased/);
  t.false(sim.readProtected);
  t.is(sim.massErases, 1);
  t.is(sim.resets, 1);
  assertFlashed(t, sim, image, 0xff);
  t.is(sim.startedAt, FLASH_ORIGIN);
});

testWith([missingSocat], '--no-verify --no-go writes only, and leaves the bootloader running', async (t) => {
  const { sim, port } = await simulator(t);
  const bin = join(scratch, 'no-go.bin');
  writeFileSync(bin, image);
  const r = await edgecCli('flash', bin, '--port', port, '--parity', 'none', '--no-verify', '--no-go');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /not verified: --no-verify/);
  t.regex(r.stdout, /started {4}no \(--no-go\)/);
  assertFlashed(t, sim, image);
  t.is(sim.startedAt, null);
});

testWith([missingSocat], 'a device that is not the board: a usage error naming both product ids', async (t) => {
  const { sim, port } = await simulator(t);
  const error = await t.throwsAsync(flash(port, image, { board: { ...board, productId: 0x419 } }), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /the device on \S+ reports product id 0x413, but stm32f4 is 0x419/);
  t.deepEqual(sim.erasedSectors, []);
});

testWith([missingSocat], 'serial port errors name the port and what to check: busy, not a serial port, missing', async (t) => {
  const { host } = await ptyPair(t);
  const first = await openSerialPort(host, { baud: BAUD, parity: 'none' });
  t.teardown(() => first.close());
  const busy = await t.throwsAsync(openSerialPort(host, { baud: BAUD, parity: 'none' }), { instanceOf: EdgecError });
  t.is(busy?.kind, 'tool');
  t.regex(busy?.message ?? '', new RegExp(`^cannot open serial port ${host.replace(/[.]/g, '\\.')}: the port is busy: another program has it open`));
  const file = join(scratch, 'not-a-port');
  writeFileSync(file, '');
  const notPort = await t.throwsAsync(openSerialPort(file, { baud: BAUD, parity: 'even' }), { instanceOf: EdgecError });
  t.regex(notPort?.message ?? '', /: this is not a serial port$/);
  const missing = await t.throwsAsync(openSerialPort(join(scratch, 'ttyUSB9'), { baud: BAUD, parity: 'even' }), { instanceOf: EdgecError });
  t.regex(missing?.message ?? '', /ttyUSB9: no such device: check the path, and that the adapter is plugged in/);
});

test('a board without the ROM bootloader, a missing port and bad flags are refused before anything is sent', async (t) => {
  const bin = join(scratch, 'refused.bin');
  writeFileSync(bin, image);
  const mps2 = await edgecCli('flash', bin, '--board', 'mps2-an386', '--port', join(scratch, 'no-such-port'));
  t.is(mps2.code, 2, mps2.stderr);
  t.regex(mps2.stderr, /board mps2-an386 has flashMethod 'none' in its board.json: edgec flash only programs boards through the STM32 ROM bootloader/);
  const noPort = await edgecCli('flash', bin, '--port', join(scratch, 'no-such-port'));
  t.is(noPort.code, 1, noPort.stderr);
  t.regex(noPort.stderr, /cannot open serial port \S+no-such-port: no such device/);
  for (const args of [[bin], [bin, '--port', 'p', '--parity', 'odd'], [bin, '--port', 'p', '--baud', 'fast'], [bin, '--port', 'p', '--verify']]) {
    t.is((await edgecCli('flash', ...args)).code, 2, args.join(' '));
  }
  const help = await edgecCli('flash', '--help');
  t.is(help.code, 0);
  for (const flag of ['--port', '--baud', '--parity', '--board', '--no-verify', '--no-go', '--unprotect']) t.true(help.stdout.includes(flag), flag);
});

test('images: ELF segments at their load addresses, and anything outside the flash refused', (t) => {
  // A minimal 32-bit little-endian Arm ELF: a header, PT_LOAD segments, their bytes.
  const elfWith = (segments: { paddr: number; bytes: number[]; filesz?: number }[]) => {
    const headerSize = 52 + 32 * segments.length;
    const out = new Uint8Array(headerSize + segments.reduce((n, s) => n + s.bytes.length, 0));
    const v = new DataView(out.buffer);
    out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    v.setUint16(16, 2, true);
    v.setUint16(18, 40, true);
    v.setUint32(28, 52, true);
    v.setUint16(42, 32, true);
    v.setUint16(44, segments.length, true);
    let offset = headerSize;
    segments.forEach((s, i) => {
      const at = 52 + 32 * i;
      v.setUint32(at, 1, true);
      v.setUint32(at + 4, offset, true);
      v.setUint32(at + 8, s.paddr, true);
      v.setUint32(at + 12, s.paddr, true);
      v.setUint32(at + 16, s.filesz ?? s.bytes.length, true);
      v.setUint32(at + 20, s.bytes.length, true);
      out.set(s.bytes, offset);
      offset += s.bytes.length;
    });
    const file = join(scratch, `image-${Math.random().toString(16).slice(2)}.elf`);
    writeFileSync(file, out);
    return file;
  };
  const gap = loadFlashImage(elfWith([{ paddr: 0x08000008, bytes: [5, 6] }, { paddr: 0x08000000, bytes: [1, 2, 3, 4] }, { paddr: 0x20000000, bytes: [], filesz: 0 }]));
  t.is(gap.address, 0x08000000);
  t.deepEqual([...gap.bytes], [1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 5, 6]);
  t.is(gap.board.name, 'stm32f4');

  const inRam = t.throws(() => loadFlashImage(elfWith([{ paddr: 0x20000000, bytes: [1, 2, 3, 4] }])), { instanceOf: EdgecError });
  t.is(inRam?.kind, 'data');
  t.regex(inRam?.message ?? '', /a segment \(4 bytes at 0x20000000-0x20000003\) lies outside stm32f4's flash \(1048576 bytes at 0x08000000-0x080fffff\)/);

  const big = join(scratch, 'big.bin');
  writeFileSync(big, new Uint8Array(board.flash.size + 1));
  t.regex(t.throws(() => loadFlashImage(big))?.message ?? '', /lies outside stm32f4's flash/);
  const hex = join(scratch, 'image.hex');
  writeFileSync(hex, ':00000001FF\n');
  t.is(t.throws(() => loadFlashImage(hex), { instanceOf: EdgecError })?.kind, 'usage');
  const notBuild = mkdtempSync(join(scratch, 'not-a-build-'));
  t.regex(t.throws(() => loadFlashImage(notBuild))?.message ?? '', /not an edgec build folder \(no report\.json\)/);
});
