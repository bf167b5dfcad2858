// Calibration proper: runs the float graph over the calibration set and records, for every
// activation tensor (graph inputs and op outputs), the range an observer proposes for it.

import { numel } from '../ir/dtype.ts';
import { dataError, modelError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { describeOp } from '../ir/verify.ts';
import { type ActivationSource, type CalibrationSet, activationTensors, forEachBatch } from './activations.ts';
import { checkFiniteConstants, firstNonFinite } from './finite.ts';
import { type Observer, type ObserverOptions, createObserver } from './observers.ts';
import type { Range } from './range.ts';

export interface RecordOptions {
  /** Default { kind: 'minmax' }, what TFLite's converter does. */
  observer?: ObserverOptions;
  /** Samples per call to the activation source; default 32. */
  batchSize?: number;
}

/** Activation tensor index -> real range, ready for quantizeGraph. */
export async function recordRanges(
  graph: Graph,
  data: CalibrationSet,
  source: ActivationSource,
  options: RecordOptions = {},
): Promise<Map<number, Range>> {
  checkFiniteConstants(graph);
  const keep = activationTensors(graph);
  const observers = new Map<number, Observer>(
    keep.map((t) => [t, createObserver(options.observer ?? { kind: 'minmax' })]),
  );
  await forEachBatch(graph, data, source, keep, options.batchSize ?? 32, (values, start) => {
    for (const [t, observer] of observers) {
      const batch = values.get(t);
      if (!batch) throw new Error(`the activation source returned no values for tensor ${t} '${graph.tensors[t].name}'`);
      const at = firstNonFinite(batch);
      if (at >= 0) throw nonFinite(graph, t, start + Math.floor(at / numel(graph.tensors[t].shape)), batch[at]);
      observer.observe(batch);
    }
  });
  return new Map([...observers].map(([t, observer]) => [t, observer.range()]));
}

function nonFinite(graph: Graph, tensor: number, sample: number, value: number) {
  const name = graph.tensors[tensor].name;
  const index = graph.ops.findIndex((op) => op.outputs[0] === tensor);
  if (index < 0) return dataError(`${graph.name}: calibration sample ${sample} of input '${name}' holds ${value}; remove it or fix the data`);
  return modelError(
    `${graph.name}: ${describeOp(graph.ops[index], index)} computes ${value} in '${name}' on calibration sample ${sample}; the float model overflows there (check its weights and the input preprocessing)`,
  );
}
