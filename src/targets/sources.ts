// Laying out a self-contained source tree for a generated model: its files, a runner, and a copy
// of the runtime kernels, so that the folder builds on its own (plain `make`, no edgec needed).

import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratedModel } from '../codegen/generate.ts';
import type { SourceFile } from '../device/firmware-sources.ts';

export const RUNTIME_DIR = fileURLToPath(new URL('../../runtime-c/', import.meta.url));

export interface SourceTree {
  dir: string;
  /** C files to compile, relative to `dir`. */
  sources: string[];
  /** Include directories, relative to `dir`. */
  includes: string[];
}

/** `program` is the code around the model: its `main` and what that needs (the wasm module has none). */
export function writeSourceTree(dir: string, model: GeneratedModel, program: SourceFile[] = []): SourceTree {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of model.files) writeFileSync(join(dir, name), text);
  for (const file of program) writeFileSync(join(dir, file.name), file.text);
  cpSync(RUNTIME_DIR, join(dir, 'runtime'), { recursive: true });
  const runtimeSources = readdirSync(join(dir, 'runtime', 'src'))
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => `runtime/src/${f}`);
  const modelSources = [...model.files.keys()].filter((f) => f.endsWith('.c'));
  const programSources = program.map((f) => f.name).filter((f) => f.endsWith('.c'));
  return { dir, sources: [...modelSources, ...programSources, ...runtimeSources], includes: ['.', 'runtime/include'] };
}
