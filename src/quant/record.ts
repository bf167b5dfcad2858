// Calibration proper: runs the float graph over the calibration set and records, for every
// activation tensor (graph inputs and op outputs), the range an observer proposes for it, and for
// every LSTM the largest magnitude its cell state reaches (TFLite gives the int16 cell state the
// power-of-two scale that covers it, whatever the observer), computed by src/float's LSTM from the
// op's calibrated input.

import { numel } from '../ir/dtype.ts';
import { dataError, modelError } from '../ir/errors.ts';
import type { Graph, LstmOp } from '../ir/types.ts';
import { lstmCellMagnitude } from '../float/lstm.ts';
import { describeOp } from '../ir/verify.ts';
import { type ActivationSource, type CalibrationSet, activationTensors, forEachBatch } from './activations.ts';
import { checkFiniteConstants, firstNonFinite } from './finite.ts';
import { type Observer, type ObserverOptions, createObserver } from './observers.ts';
import { type Range, stateRangeKey } from './range.ts';

export interface RecordOptions {
  /** Default { kind: 'minmax' }, what TFLite's converter does. */
  observer?: ObserverOptions;
  /** Samples per call to the activation source; default 32. */
  batchSize?: number;
}

/** Activation tensor index (and an LSTM's stateRangeKey) -> real range, ready for quantizeGraph. */
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
  const lstms = graph.ops.flatMap((op, index) => (op.kind === 'unidirectional_sequence_lstm' ? [{ op, index }] : []));
  const cells: Promise<{ index: number; magnitude: number }>[] = [];
  await forEachBatch(graph, data, source, keep, options.batchSize ?? 32, (values, start) => {
    for (const { op, index } of lstms) cells.push(lstmCellMagnitude(graph, op as LstmOp, values.get(op.inputs[0])!).then((magnitude) => ({ index, magnitude })));
    for (const [t, observer] of observers) {
      const batch = values.get(t);
      if (!batch) throw new Error(`the activation source returned no values for tensor ${t} '${graph.tensors[t].name}'`);
      const at = firstNonFinite(batch);
      if (at >= 0) throw nonFinite(graph, t, start + Math.floor(at / numel(graph.tensors[t].shape)), batch[at]);
      observer.observe(batch);
    }
  });
  const ranges = new Map([...observers].map(([t, observer]) => [t, observer.range()]));
  for (const { index, magnitude } of await Promise.all(cells)) {
    const key = stateRangeKey(index);
    const largest = Math.max(magnitude, ranges.get(key)?.[1] ?? 0);
    ranges.set(key, [-largest, largest]);
  }
  return ranges;
}

function nonFinite(graph: Graph, tensor: number, sample: number, value: number) {
  const name = graph.tensors[tensor].name;
  const index = graph.ops.findIndex((op) => op.outputs[0] === tensor);
  if (index < 0) return dataError(`${graph.name}: calibration sample ${sample} of input '${name}' holds ${value}; remove it or fix the data`);
  return modelError(
    `${graph.name}: ${describeOp(graph.ops[index], index)} computes ${value} in '${name}' on calibration sample ${sample}; the float model overflows there (check its weights and the input preprocessing)`,
  );
}
