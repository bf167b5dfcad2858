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

/**
 * Splits a runner's output stream into per-sample outputs; `trailer` bytes after each sample
 * (the device's cycle count) are returned separately as little-endian uint32 values.
 */
export function unpackOutputs(graph: Graph, stream: Uint8Array, samples: number, trailer = 0): { outputs: TensorData[][]; trailers: number[] } {
  const sizes = graph.outputs.map((t) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype]);
  const per = sizes.reduce((a, b) => a + b, 0) + trailer;
  if (stream.length !== per * samples) {
    throw new Error(`expected ${samples} sample(s) of ${per} bytes from the model, got ${stream.length} bytes`);
  }
  const outputs: TensorData[][] = [];
  const trailers: number[] = [];
  for (let i = 0; i < samples; i++) {
    let at = i * per;
    outputs.push(
      graph.outputs.map((t, k) => {
        const part = viewBytes(graph.tensors[t].dtype, stream.slice(at, at + sizes[k]));
        at += sizes[k];
        return part;
      }),
    );
    if (trailer) trailers.push(new DataView(stream.buffer, stream.byteOffset + at, 4).getUint32(0, true));
  }
  return { outputs, trailers };
}
