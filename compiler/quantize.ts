// `edgec quantize`: what the quantizer reports, layer by layer, and what each technique did.

import type { QuantizeResult } from '../src/pipeline.ts';
import type { LayerError, ModelScore } from '../src/quant/report.ts';
import type { Technique, TechniqueDecision } from '../src/quant/ptq.ts';
import { formatTable } from './table.ts';

const TECHNIQUE_NAMES: Record<Technique, string> = { equalization: 'equalization', jointRanges: 'joint ranges', biasCorrection: 'bias correction' };

const decibels = (db: number) => (Number.isFinite(db) ? `${db.toFixed(1)} dB` : 'exact');
const signed = (db: number) => (Number.isFinite(db) ? `${db >= 0 ? '+' : ''}${db.toFixed(1)}` : db > 0 ? '+inf' : '-inf');
const percent = (share: number) => `${(100 * share).toFixed(2)}%`;

/** Why a layer has the activations it has, where that is not what was asked for. */
function precisionNote(result: QuantizeResult, layer: LayerError): string | undefined {
  return result.activations === 'int16' && layer.activations === 'int8' ? 'no 16x8 kernel: stays int8' : undefined;
}

/** The same report for --json; an SQNR of identical values (Infinity, printed 'exact') is null there. */
export function layerReportJson(result: QuantizeResult) {
  const layers = result.layers.map((l) => {
    const note = precisionNote(result, l);
    return note ? { ...l, note } : l;
  });
  return { model: result.floatGraph.name, samples: result.samples, activations: result.activations, layers, ptq: result.ptq };
}

export function layerReportText(result: QuantizeResult): string {
  const applied = result.ptq.applied;
  const rows = result.layers.map((l) => [
    String(l.op),
    l.kind,
    l.tensor.length > 40 ? `…${l.tensor.slice(-39)}` : l.tensor,
    precisionNote(result, l) ? `${l.activations} (no 16x8 kernel)` : l.activations,
    Number.isFinite(l.sqnrDb) ? l.sqnrDb.toFixed(1) : 'exact',
    l.cosine.toFixed(5),
    l.maxAbsError.toPrecision(3),
    applied
      .filter((a) => a.op === l.op)
      .map((a) => `${TECHNIQUE_NAMES[a.technique]} ${signed(a.gainDb)}`)
      .join(', '),
  ]);
  const worst = result.layers.filter((l) => Number.isFinite(l.sqnrDb)).sort((a, b) => a.sqnrDb - b.sqnrDb)[0];
  return [
    `quantized ${result.floatGraph.name} to ${precisionText(result.layers)}, calibrated on ${result.samples} sample(s)`,
    '',
    'each quantized layer against its float layer on the calibration data (techniques: SQNR gained at that layer, dB):',
    formatTable(['op', 'kind', 'output', 'activations', 'SQNR dB', 'cosine', 'max |error|', 'techniques'], rows, new Set([0, 4, 5, 6])),
    ...(worst ? ['', `lowest SQNR: op ${worst.op} (${worst.kind}, '${worst.tensor}') at ${worst.sqnrDb.toFixed(1)} dB`] : []),
    '',
    ...summaryLines(result),
  ].join('\n');
}

/** 'int8', or how many layers are int16. */
function precisionText(layers: LayerError[]): string {
  const int16 = layers.filter((l) => l.activations === 'int16').length;
  if (int16 === 0) return 'int8';
  return int16 === layers.length ? 'int16 activations (16x8)' : `int8 with int16 activations (16x8) in ${int16} of ${layers.length} layers`;
}

/** The model's output against float before and after the techniques, and what was decided for each. */
function summaryLines({ ptq }: QuantizeResult): string[] {
  const score = (s: ModelScore) => `SQNR ${decibels(s.outputSqnrDb)}${s.agreementRows > 0 ? `, top-1 agreement ${percent(s.agreement)}` : ''}`;
  const rows = ptq.agreementRows > 0 ? ` (${ptq.agreementRows} row(s) of class scores)` : '';
  return [
    `model output against float on the calibration data (SQNR of the logits where a softmax ends it)${rows}:`,
    `  before the techniques ${score(ptq.baseline)}; after ${score(ptq)}`,
    'each technique, made from four fifths of the samples and judged on the other fifth (kept if it raises the SQNR without losing agreement beyond one sample):',
    ...ptq.decisions.map((d) => `  ${TECHNIQUE_NAMES[d.technique].padEnd(16)}${decisionText(d)}`),
  ];
}

function decisionText(d: TechniqueDecision): string {
  if (d.mode === 'off') return 'off';
  if (!d.after) return `${d.mode}: nothing to do in this model`;
  const change = `output SQNR ${decibels(d.before.outputSqnrDb)} -> ${decibels(d.after.outputSqnrDb)}${
    d.after.agreementRows > 0 ? `, agreement ${percent(d.before.agreement)} -> ${percent(d.after.agreement)}` : ''
  }`;
  const verdict = d.mode === 'on' ? 'applied (forced on)' : d.kept ? 'kept' : 'not kept';
  return `${verdict}: ${d.ops.length} layer(s), ${change}${d.note ? ` (${d.note})` : ''}`;
}
