// The `host` target: the generated C compiled natively and run as a filter over raw samples.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findTool } from '../toolchain/index.ts';
import type { SourceTree } from './sources.ts';

export const HOST_CFLAGS = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off'];
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g', '-O1'];

export function buildHost(tree: SourceTree, options: { sanitize?: boolean } = {}): string {
  const exe = join(tree.dir, options.sanitize ? 'model_host_sanitized' : 'model_host');
  const args = [
    ...HOST_CFLAGS,
    ...(options.sanitize ? SANITIZE : ['-O2']),
    ...tree.includes.map((i) => `-I${join(tree.dir, i)}`),
    ...tree.sources.map((s) => join(tree.dir, s)),
    '-lm',
    '-o',
    exe,
  ];
  const result = spawnSync(findTool('cc'), args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`host build of the generated C failed:\n${result.stderr}`);
  return exe;
}

/** Feeds the concatenated samples to the program and returns everything it wrote. */
export function runHost(exe: string, input: Uint8Array): Uint8Array {
  const result = spawnSync(exe, [], { input, maxBuffer: 1 << 30, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${exe} exited with ${result.status ?? result.signal}:\n${result.stderr.toString().slice(0, 4000)}`);
  }
  return new Uint8Array(result.stdout);
}
