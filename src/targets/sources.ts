// Laying out a self-contained source tree for a generated model: its files, a runner, and a copy
// of the runtime kernels, so that the folder builds on its own (plain `make`, no edgec needed).

import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratedModel } from '../codegen/generate.ts';

export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-c/', import.meta.url));

export interface SourceTree {
  dir: string;
  /** C files to compile, relative to `dir`. */
  sources: string[];
  /** Include directories, relative to `dir`. */
  includes: string[];
}

/** `runner` is the program's `main`, if it has one (the wasm module has none). */
export function writeSourceTree(dir: string, model: GeneratedModel, runner?: { name: string; text: string }): SourceTree {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of model.files) writeFileSync(join(dir, name), text);
  if (runner) writeFileSync(join(dir, runner.name), runner.text);
  cpSync(RUNTIME_DIR, join(dir, 'runtime'), { recursive: true });
  const runtimeSources = readdirSync(join(dir, 'runtime', 'src'))
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => `runtime/src/${f}`);
  const modelSources = [...model.files.keys()].filter((f) => f.endsWith('.c'));
  return { dir, sources: [...modelSources, ...(runner ? [runner.name] : []), ...runtimeSources], includes: ['.', 'runtime/include'] };
}
