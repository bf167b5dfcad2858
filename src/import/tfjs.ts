// TF.js front end: a model.json (layers model or graph model) and its weight shards -> Graph.

import { basename, dirname, resolve } from 'node:path';
import type { INodeDef } from '@tensorflow/tfjs-converter';
import { modelError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { importGraphModel } from './tfjs-graph.ts';
import { readTfjsFiles } from './tfjs-io.ts';
import { importLayersModel } from './tfjs-layers.ts';
import { decodeTfjsWeights } from './tfjs-weights.ts';

/** The graph is named after the model's folder when the file is the conventional model.json. */
function modelName(path: string): string {
  const file = basename(path).replace(/\.json$/, '');
  return file === 'model' ? basename(dirname(resolve(path))) || file : file;
}

export async function importTfjs(path: string): Promise<Graph> {
  const { json, specs, weightData } = await readTfjsFiles(path);
  const weights = decodeTfjsWeights(weightData, specs, path);
  const topology = json.modelTopology as Record<string, unknown>;
  if (json.format === 'graph-model' || Array.isArray(topology.node)) {
    return importGraphModel(topology as { node?: INodeDef[] }, json.signature, weights, modelName(path), path);
  }
  if (json.format === 'layers-model' || 'class_name' in topology || 'model_config' in topology) {
    return importLayersModel(topology, weights, modelName(path), path);
  }
  throw modelError(`${path}: not a TF.js layers model or graph model (format '${String(json.format)}', no Keras config or GraphDef nodes in modelTopology)`);
}
