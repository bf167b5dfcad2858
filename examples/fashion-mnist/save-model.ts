// Saving a tfjs layers model to a folder as model.json plus one weights.bin shard, the files tfjs's
// own file:// handler writes. That handler comes only with tfjs-node, which cannot be installed
// everywhere (its install downloads libtensorflow), so this is a minimal IOHandler over node:fs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { io } from '@tensorflow/tfjs-core';

const WEIGHTS_FILE = 'weights.bin';

export function folderSaver(dir: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('binary (GraphDef) topologies cannot be written as model.json');
      const weights = new Uint8Array(artifacts.weightData ? io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0));
      const json: io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      writeFileSync(join(dir, WEIGHTS_FILE), weights);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}
