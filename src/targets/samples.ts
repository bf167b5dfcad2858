// Packing samples into the raw byte streams the runners read, and unpacking their answers.

import { dataBytes, DTYPE_BYTES, numel, viewBytes } from '../ir/dtype.ts';
import type { Graph, TensorData } from '../ir/types.ts';

export function packSamples(samples: TensorData[][]): Uint8Array {
  const parts = samples.flatMap((s) => s.map(dataBytes));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits a host runner's output stream into per-sample outputs. */
export function unpackOutputs(graph: Graph, stream: Uint8Array, samples: number): TensorData[][] {
  const sizes = graph.outputs.map((t) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype]);
  const per = sizes.reduce((a, b) => a + b, 0);
  if (stream.length !== per * samples) {
    throw new Error(`expected ${samples} sample(s) of ${per} bytes from the model, got ${stream.length} bytes`);
  }
  const outputs: TensorData[][] = [];
  for (let i = 0; i < samples; i++) {
    let at = i * per;
    outputs.push(
      graph.outputs.map((t, k) => {
        const part = viewBytes(graph.tensors[t].dtype, stream.slice(at, at + sizes[k]));
        at += sizes[k];
        return part;
      }),
    );
  }
  return outputs;
}
