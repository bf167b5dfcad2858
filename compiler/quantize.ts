// `edgec quantize`: what the quantizer reports, layer by layer.

import type { QuantizeResult } from '../src/pipeline.ts';
import { formatTable } from './table.ts';

export function layerReportText(result: QuantizeResult): string {
  const rows = (result.layers ?? []).map((l) => [
    String(l.op),
    l.kind,
    l.tensor.length > 40 ? `…${l.tensor.slice(-39)}` : l.tensor,
    Number.isFinite(l.sqnrDb) ? l.sqnrDb.toFixed(1) : 'exact',
    l.cosine.toFixed(5),
    l.maxAbsError.toPrecision(3),
  ]);
  const worst = (result.layers ?? []).filter((l) => Number.isFinite(l.sqnrDb)).sort((a, b) => a.sqnrDb - b.sqnrDb)[0];
  return [
    `quantized ${result.floatGraph.name} to int8, calibrated on ${result.samples} sample(s)`,
    '',
    'each int8 layer against its float layer on the calibration data:',
    formatTable(['op', 'kind', 'output', 'SQNR dB', 'cosine', 'max |error|'], rows, new Set([0, 3, 4, 5])),
    ...(worst ? ['', `lowest SQNR: op ${worst.op} (${worst.kind}, '${worst.tensor}') at ${worst.sqnrDb.toFixed(1)} dB`] : []),
  ].join('\n');
}
