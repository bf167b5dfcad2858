// TF.js models on disk, as tensorflowjs_converter and tfjs's model.save write them: a model.json
// (topology plus a weights manifest) and binary weight shards named in the manifest, relative to
// the model.json. `tfjsFileHandler` is the same files as a tfjs IOHandler, for tfjs's own loaders
// and for model.save; nothing is fetched.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { modelError } from '../ir/errors.ts';

export interface TfjsModelFiles {
  json: io.ModelJSON;
  /** Every manifest entry, in shard order. */
  specs: io.WeightsManifestEntry[];
  /** The shards concatenated in manifest order. */
  weightData: Uint8Array;
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw modelError(`${path}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

export async function readTfjsFiles(path: string): Promise<TfjsModelFiles> {
  let json: io.ModelJSON;
  try {
    json = JSON.parse((await readOrFail(path, 'TF.js model')).toString('utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw modelError(`${path}: not a TF.js model.json: ${e.message}`);
    throw e;
  }
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    throw modelError(`${path}: not a TF.js model.json: it has no 'modelTopology' object`);
  }
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest) || manifest.some((group) => !Array.isArray(group?.paths) || !Array.isArray(group?.weights))) {
    throw modelError(`${path}: 'weightsManifest' must be a list of {paths, weights} groups`);
  }
  const shards: Buffer[] = [];
  for (const group of manifest) {
    for (const shard of group.paths) shards.push(await readOrFail(join(dirname(path), shard), `weight shard '${shard}' named in ${basename(path)}`));
  }
  return { json, specs: manifest.flatMap((group) => group.weights), weightData: new Uint8Array(Buffer.concat(shards)) };
}

/** A tfjs IOHandler over a model.json path: `load` reads the model and its shards, `save` writes them (one shard). */
export function tfjsFileHandler(path: string): io.IOHandler {
  return {
    async load() {
      const { json, specs, weightData } = await readTfjsFiles(path);
      const { weightsManifest: _manifest, ...rest } = json;
      const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer;
      return { ...rest, weightSpecs: specs, weightData: buffer };
    },
    async save(artifacts) {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw modelError(`${path}: binary (GraphDef protobuf) topologies cannot be saved as model.json`);
      const pieces = [artifacts.weightData ?? []].flat().map((b) => new Uint8Array(b));
      const weights = Buffer.concat(pieces);
      const shard = `${basename(path).replace(/\.json$/, '')}.weights.bin`;
      const { weightData: _data, weightSpecs, getWeightStream: _stream, ...rest } = artifacts;
      const json = { ...rest, weightsManifest: [{ paths: [shard], weights: weightSpecs ?? [] }] };
      const text = JSON.stringify(json);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      await writeFile(join(dirname(path), shard), weights);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(weightSpecs ?? []).length,
          weightDataBytes: weights.length,
        },
      };
    },
  };
}
