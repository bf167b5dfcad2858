// Which of the tools (and data) a test needs this machine lacks: the reason a test reports
// itself skipped. `npm run test:fast` (EDGEC_TEST_FAST=1) counts QEMU and emcc as missing and
// leaves out the full data set, so the same checks select the fast tests.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type FashionMnistSet, type LoadOptions, type Split, fashionMnistDir, loadFashionMnist } from '../../examples/fashion-mnist/data.ts';
import { findTool, type ToolName } from '../../src/toolchain/index.ts';

const FAST = process.env.EDGEC_TEST_FAST === '1';

/** What a fast run leaves out: the emulator and the WebAssembly compiler, the slow targets. */
const LEFT_OUT_WHEN_FAST: readonly ToolName[] = ['qemu-system-arm', 'emcc'];

/** The tools each target of runOnTarget needs besides Node. */
export const TARGET_TOOLS: Record<string, ToolName[]> = {
  ref: [],
  host: ['cc'],
  wasm: ['emcc'],
  qemu: ['arm-none-eabi-gcc', 'qemu-system-arm'],
};

/** findTool's message for the first tool missing, or null when every one is there. */
export function missingTool(...tools: ToolName[]): string | null {
  for (const tool of tools) {
    if (FAST && LEFT_OUT_WHEN_FAST.includes(tool)) return `EDGEC_TEST_FAST=1 (npm run test:fast) leaves out ${tool}`;
    try {
      findTool(tool);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return null;
}

/** Why Fashion-MNIST (Debian's dataset-fashion-mnist) cannot be read here, or null when it can. */
export function missingFashionMnist(): string | null {
  const file = join(fashionMnistDir(), 't10k-images-idx3-ubyte.gz');
  return existsSync(file) ? null : `Fashion-MNIST is not at ${fashionMnistDir()} (apt-get install dataset-fashion-mnist)`;
}

/**
 * The Fashion-MNIST images a test file loads up front, or none where the data is missing: the
 * tests that read them are then skipped (testWhere with missingFashionMnist()).
 */
export function fashionMnistIfPresent(split: Split, options: LoadOptions = {}): FashionMnistSet {
  return missingFashionMnist() === null ? loadFashionMnist(split, options) : { images: new Float32Array(0), labels: new Uint8Array(0), count: 0 };
}

/** Why the full Fashion-MNIST set (all 70,000 images) is not used here, or null when it is. */
export function missingFullData(): string | null {
  if (FAST) return 'EDGEC_TEST_FAST=1 (npm run test:fast) leaves out the full Fashion-MNIST set';
  return missingFashionMnist();
}

/** A test that runs only where none of `missing` (missingTool or missingFullData answers) says why not; else skipped with that reason. */
export function testWhere(missing: (string | null)[], title: string, body: (t: ExecutionContext) => Promise<void> | void, { serial = false } = {}): void {
  const reason = missing.find((m) => m !== null);
  if (reason) test.skip(`${title} (skipped: ${reason})`, () => {});
  else (serial ? test.serial : test)(title, body);
}
