// Picks the front end for a model file by its format.

import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { modelError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { importTfjs } from './tfjs.ts';
import { importTflite } from './tflite.ts';

export async function loadModel(path: string): Promise<Graph> {
  // A TF.js model is a model.json whose weight shards are found next to it.
  if (path.endsWith('.json')) return importTfjs(path);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw modelError(`${path}: cannot read the model file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const name = basename(path);
  const isTflite = (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(4, 8)) === 'TFL3') || name.endsWith('.tflite');
  if (isTflite) {
    const graph = importTflite(bytes, name);
    // `person_detect/model.tflite` is better known by its folder than as `model`.
    if (graph.name === 'model' && basename(dirname(resolve(path))) !== '') graph.name = basename(dirname(resolve(path)));
    return graph;
  }
  throw modelError(`${path}: not a TensorFlow Lite flatbuffer (no 'TFL3' identifier); edgec reads .tflite models and TF.js model.json files`);
}
