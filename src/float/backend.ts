// Which tfjs-core backend float work runs on. The cpu backend does everything, training included;
// the wasm backend (XNNPACK) infers about ten times faster but cannot train convolutions.
// Registering it makes it tfjs's preferred backend, so the process default stays cpu and wasm is
// switched on only around an inference.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { EdgecError } from '../ir/errors.ts';

export type FloatBackend = 'cpu' | 'wasm';

// PROD silences tfjs's console advice to install tfjs-node (which cannot install offline) and its
// debug-mode checks; it changes no arithmetic.
tf.env().set('PROD', true);

// The .wasm binaries sit next to the package's Node entry point; nothing is fetched.
setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);

// Start wasm once, now: while a backend is starting, tfjs refuses every tensor operation on every
// backend, and later switches between started backends are immediate. Then back to the backend the
// process had, cpu if none.
const initial = tf.engine().backendName ?? 'cpu';
const wasmStarted = await withoutProcessHandlers(() => tf.setBackend('wasm'));
await tf.setBackend(initial);

/**
 * The wasm backend's emscripten glue installs process-wide handlers that rethrow every uncaught
 * exception and unhandled rejection from anywhere in the program, which turns edgec's own errors
 * into a dump of minified glue code. They are taken back out as soon as the backend has started.
 */
async function withoutProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  const exceptions = new Set(process.listeners('uncaughtException'));
  const rejections = new Set(process.listeners('unhandledRejection'));
  try {
    return await start();
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!exceptions.has(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!rejections.has(l)) process.removeListener('unhandledRejection', l);
  }
}

// Runs wait for each other: a switch of backend by one run must not land in the middle of another.
let queue: Promise<unknown> = Promise.resolve();

/** Runs `work` with `backend` active and gives the process its previous backend back afterwards. */
export function onBackend<T>(backend: FloatBackend, work: () => T): Promise<T> {
  const run = queue.then(async () => {
    if (backend === 'wasm' && !wasmStarted) {
      throw new EdgecError('tool', 'the tfjs wasm backend did not start; run the float model on the cpu backend instead');
    }
    const previous = tf.getBackend();
    await tf.setBackend(backend);
    try {
      return work();
    } finally {
      await tf.setBackend(previous);
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
