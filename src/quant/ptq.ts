// Post-training quantization as one call: calibrate, quantize, and on top of that the techniques
// that bring an int8 model closer to its float model, each tried on the calibration data and kept
// only where it helps (mode 'auto'), or forced on or off:
//   equalization     cross-layer equalization of conv/depthwise/dense chains (equalize.ts);
//   jointRanges      ranges of ADD and CONCATENATION inputs chosen with their output's (joint-ranges.ts);
//   biasCorrection   the mean shift each quantized layer introduces, folded into its bias (bias-correction.ts).
// They run in that order, each on top of the ones kept before it: equalization changes the float
// graph (and so every range), joint ranges change ranges, and bias correction measures the error
// of everything before it (so the first two are judged with it on top, unless it is off). Weight rounding (nearest, or adaptive) is the one place every int8
// weight is made; bias correction then corrects what that rounding leaves.
//
// "Helps" means: the output SQNR against the float model rises by more than noise and the top-1
// agreement with it does not fall (by more than one sample): see improves. Both are measured with
// the bit-exact int8 runner on calibration samples the technique was not made from: every fifth
// sample is held out, the techniques are made from the others. (Judged on the samples they were
// fitted to, techniques look better than they are: equalization levelling channel ranges to their
// calibrated maxima gained 3.8 dB on a MobileNet's calibration samples and lost 0.2 dB on
// others.) The techniques kept are then made again from all the samples, and kept only if the
// result still beats none of them on the whole calibration set.

import { usageError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { runFloat } from '../float/run.ts';
import { pickSamples } from '../prune/allocate.ts';
import type { ActivationSource, CalibrationSet } from './activations.ts';
import { adaptiveRounding } from './adaround.ts';
import { correctBiases } from './bias-correction.ts';
import { equalize } from './equalize.ts';
import { jointRanges } from './joint-ranges.ts';
import type { ObserverOptions } from './observers.ts';
import { quantizeGraph, type WeightRounding } from './quantize.ts';
import type { Range } from './range.ts';
import { recordRanges } from './record.ts';
import { compareModels, type GraphRunner, type LayerError, type ModelScore } from './report.ts';

export type TechniqueMode = 'on' | 'off' | 'auto';
export type Technique = 'equalization' | 'jointRanges' | 'biasCorrection';
export type RoundingMode = 'nearest' | 'adaptive';

/** The order techniques are tried in (each on top of those kept before it). */
export const TECHNIQUES: Technique[] = ['equalization', 'jointRanges', 'biasCorrection'];

export interface PtqTechniques {
  /** Every technique defaults to 'auto'. */
  equalization?: TechniqueMode;
  jointRanges?: TechniqueMode;
  biasCorrection?: TechniqueMode;
  /** How float weights become int8 on their per-channel grid; default 'nearest'. */
  rounding?: RoundingMode;
}

export interface PtqOptions {
  /** Default { kind: 'minmax' }, what TFLite's converter does. */
  observer?: ObserverOptions;
  /** int8 (default) or float inputs and outputs, with QUANTIZE/DEQUANTIZE at the edges. */
  io?: 'int8' | 'float';
  techniques?: PtqTechniques;
  /** Ops (of the float graph) with int16 activations (16x8); see QuantizeOptions.int16. */
  int16?: ReadonlySet<number>;
  /**
   * Runs an int8 graph one sample at a time, bit-exactly: src/ref's createExecutor. Passed in
   * because quantization may not import the reference (see DESIGN.md).
   */
  runner: GraphRunner;
  /** The float graph's activations; default src/float's runFloat. */
  source?: ActivationSource;
}

/** One technique's effect at one layer (an op of the float graph). */
export interface AppliedTechnique {
  op: number;
  technique: Technique;
  /** The layer's SQNR against float with the technique minus without it (dB). */
  gainDb: number;
}

/** What was tried, what it measured, and whether it was kept. */
export interface TechniqueDecision {
  technique: Technique;
  mode: TechniqueMode;
  kept: boolean;
  /** Layers (ops of the float graph) the technique changed; none means it found nothing to do. */
  ops: number[];
  before: ModelScore;
  /** `before` and `after` are scores on the held-out samples (every fifth), of models made from the others. Absent when the technique was off or found nothing to do. */
  after?: ModelScore;
  /** Why a technique that looked better was not kept after all. */
  note?: string;
}

/** The ModelScore fields: `graph`'s output against `floatGraph`'s on the whole calibration set. */
export interface PtqResult extends ModelScore {
  /** The int8 graph. */
  graph: Graph;
  /** The float graph `graph` lines up with tensor by tensor (equalized when equalization was kept). */
  floatGraph: Graph;
  /** Per layer, each kept technique and its SQNR gain there (on the held-out samples, as it was judged). */
  applied: AppliedTechnique[];
  decisions: TechniqueDecision[];
  /** The same for plain calibration (with the chosen weight rounding), before any technique. */
  baseline: ModelScore;
  /** Every layer of `graph` against `floatGraph` on the calibration data. */
  layers: LayerError[];
}

const floatSource: ActivationSource = (graph, inputs, keep) => runFloat(graph, inputs, { keep });

/** A float graph, its ranges, and the int8 graph they give. */
interface State {
  float: Graph;
  ranges: Map<number, Range>;
  graph: Graph;
}

type Measured = ModelScore & { layers: LayerError[]; outputNoise: Float64Array };

/** A state as measured, the same with bias correction on top (unless off), and the one of the two the search goes on with. */
interface Completed {
  plain: { state: State; score: Measured };
  corrected?: { state: State; score: Measured; ops: number[] };
  final: { state: State; score: Measured };
}

/** Full-integer int8 quantization of `floatGraph` calibrated on `data`, with the techniques that help. */
export async function ptq(floatGraph: Graph, data: CalibrationSet, options: PtqOptions): Promise<PtqResult> {
  const techniques = checkTechniques(options.techniques ?? {});
  const source = options.source ?? floatSource;
  const context = (fit: CalibrationSet): Context => {
    const rounding = weightRounding(techniques.rounding, fit, source);
    const quantize = async (float: Graph, ranges: Map<number, Range>, roundAs = float) =>
      quantizeGraph(float, ranges, { io: options.io, int16: options.int16, roundWeights: await rounding(roundAs) });
    return { data: fit, source, observer: options.observer, runner: options.runner, quantize };
  };
  const start = async ({ data: fit, source, observer, quantize }: Context): Promise<State> => {
    const ranges = await recordRanges(floatGraph, fit, source, { observer });
    return { float: floatGraph, ranges, graph: await quantize(floatGraph, ranges) };
  };
  const measure = (state: State, on: CalibrationSet): Promise<Measured> => compareModels(state.float, state.graph, on, source, options.runner);

  // The search: each technique made from four fifths of the data and judged on the fifth it did not see.
  const { fit, held } = holdOut(floatGraph, data);
  const searching = context(fit);
  const initial = await start(searching);
  const correction = techniques.biasCorrection;
  /**
   * A state measured, and with bias correction on top where that is on or auto. New ranges or
   * weights move the mean shift of every layer after them, which can outweigh their own gain at
   * the output (averaging layers keep mean shifts and average rounding noise away); bias
   * correction takes those shifts out, so equalization and joint ranges are judged by what they
   * give once it has.
   */
  const complete = async (state: State): Promise<Completed> => {
    const plain = { state, score: await measure(state, held) };
    const tried = correction === 'off' ? undefined : await TRY.biasCorrection(state, searching);
    const corrected = tried && { state: tried.next, score: await measure(tried.next, held), ops: tried.ops };
    const useCorrected = corrected && (correction === 'on' || improves(corrected.score, plain.score));
    return { plain, corrected, final: useCorrected ? corrected : plain };
  };
  let best = await complete(initial);
  const decisions: TechniqueDecision[] = [];
  const applied: AppliedTechnique[] = [];
  const gains = (technique: Technique, ops: number[], after: Measured, before: Measured) => {
    for (const op of ops) applied.push({ op, technique, gainDb: after.layers[op].sqnrDb - before.layers[op].sqnrDb });
  };
  for (const technique of TECHNIQUES.filter((t) => t !== 'biasCorrection')) {
    const mode = techniques[technique];
    const before = scoreOf(best.final.score);
    const tried = mode === 'off' ? undefined : await TRY[technique](best.plain.state, searching);
    if (!tried) {
      decisions.push({ technique, mode, kept: false, ops: [], before });
      continue;
    }
    const next = await complete(tried.next);
    const kept = mode === 'on' || improves(next.final.score, best.final.score);
    decisions.push({ technique, mode, kept, ops: tried.ops, before, after: scoreOf(next.final.score) });
    if (!kept) continue;
    gains(technique, tried.ops, next.plain.score, best.plain.score);
    best = next;
  }
  const { plain: uncorrected, corrected } = best;
  decisions.push({
    technique: 'biasCorrection',
    mode: correction,
    kept: best.final === corrected,
    ops: corrected?.ops ?? [],
    before: scoreOf(uncorrected.score),
    ...(corrected && { after: scoreOf(corrected.score) }),
  });
  if (corrected && best.final === corrected) gains('biasCorrection', corrected.ops, corrected.score, uncorrected.score);

  // The techniques kept, made again from all the data; if that is not better on the calibration data than none of them
  // (which all the data can show where a fifth could not), none of the techniques in auto mode is kept.
  const all = held === data ? searching : context(data);
  const plain = held === data ? initial : await start(all);
  const plainScore = await measure(plain, data);
  /** `plain` with the techniques decided on, each made from all the data (one that finds nothing to do there is skipped). */
  const replay = async (): Promise<{ state: State; score: Measured }> => {
    let state = plain;
    for (const { technique } of decisions.filter((d) => d.kept)) state = (await TRY[technique](state, all))?.next ?? state;
    return { state, score: state === plain ? plainScore : await measure(state, data) };
  };
  let { state: final, score: finalScore } = await replay();
  if (final !== plain && !improves(finalScore, plainScore, false) && decisions.some((d) => d.kept && d.mode === 'auto')) {
    for (const d of decisions.filter((d) => d.kept && d.mode === 'auto')) {
      d.kept = false;
      d.note = 'better on the held-out samples, but not once made from all of them';
    }
    ({ state: final, score: finalScore } = await replay());
  }
  return {
    graph: final.graph,
    floatGraph: final.float,
    applied: applied.filter((a) => decisions.some((d) => d.kept && d.technique === a.technique)),
    decisions,
    baseline: scoreOf(plainScore),
    layers: finalScore.layers,
    ...scoreOf(finalScore),
  };
}

/**
 * Every fifth sample held out (spread over the set, so data sorted by class is held out evenly),
 * the rest to fit on; below 10 samples there is too little to split and both are the whole set.
 */
function holdOut(graph: Graph, data: CalibrationSet): { fit: CalibrationSet; held: CalibrationSet } {
  if (data.count < 10) return { fit: data, held: data };
  const all = Array.from({ length: data.count }, (_, i) => i);
  const pick = (indices: number[]): CalibrationSet => ({ inputs: pickSamples(graph, data, indices).inputs, count: indices.length });
  return { fit: pick(all.filter((i) => i % 5 !== 4)), held: pick(all.filter((i) => i % 5 === 4)) };
}

const scoreOf = ({ outputSqnrDb, agreement, agreementRows }: ModelScore): ModelScore => ({ outputSqnrDb, agreement, agreementRows });

/**
 * Whether `after` is better than `before` (the same samples): its output's squared error lower,
 * surely, and its top-1 agreement lower by at most one row (one sample of a classifier).
 * "Surely": over the samples, the drop in each one's squared error averages more than its standard
 * error. Smaller differences are what re-rounding anything moves either way: on the Fashion-MNIST
 * example, equalization measured +0.1 dB (0.3 standard errors) on the held-out fifth and -0.8 dB
 * on the 10,000 test images. Two standard errors would be too many for a held-out fifth of a few
 * hundred samples with heavy-tailed errors: on a MobileNet (40 held out) it rejected equalization
 * at 1.4 that gained 1.9 dB on unseen samples. And one sample of agreement is a single near-tie flipping (on a ResNet-8
 * calibrated on 200 samples, the techniques gave +1.1 dB there but one sample less in agreement,
 * and on 300 test images +0.6 dB and one point more agreement).
 */
function improves(after: Measured, before: Measured, surely = true): boolean {
  const agreeing = (s: ModelScore) => Math.round(s.agreement * s.agreementRows);
  return lower(after.outputNoise, before.outputNoise, surely ? 1 : 0) && agreeing(after) >= agreeing(before) - 1;
}

/** Whether the per-sample drops from `before` to `after` average more than `z` standard errors. */
function lower(after: Float64Array, before: Float64Array, z: number): boolean {
  const n = after.length;
  const drops = Float64Array.from(after, (a, i) => before[i] - a);
  const mean = drops.reduce((s, d) => s + d, 0) / n;
  if (n < 2) return mean > 0;
  const variance = drops.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1);
  return mean > 0 && mean > z * Math.sqrt(variance / n);
}

/** What a technique is made from: the samples to fit on, and how to run and quantize. */
interface Context {
  data: CalibrationSet;
  source: ActivationSource;
  observer?: ObserverOptions;
  runner: GraphRunner;
  /** The int8 graph of `float` with `ranges`, its weights rounded as for the float graph `roundAs` (default `float`). */
  quantize: (float: Graph, ranges: Map<number, Range>, roundAs?: Graph) => Promise<Graph>;
}

/** A technique applied on top of `current`: the new state and the float ops it changed, or undefined when it has nothing to do. */
type Attempt = (current: State, context: Context) => Promise<{ next: State; ops: number[] } | undefined>;

const TRY: Record<Technique, Attempt> = {
  equalization: async (current, { data, source, observer, quantize }) => {
    const { graph: float, chains } = await equalize(current.float, data, source);
    if (chains.length === 0) return undefined;
    const ranges = await recordRanges(float, data, source, { observer });
    return { next: { float, ranges, graph: await quantize(float, ranges) }, ops: distinct(chains.flatMap((c) => [c.producer, c.consumer])) };
  },
  jointRanges: async (current, { quantize }) => {
    const { ranges, ops } = jointRanges(current.float, current.ranges);
    return ops.length === 0 ? undefined : { next: { float: current.float, ranges, graph: await quantize(current.float, ranges) }, ops };
  },
  // Last: it measures (and corrects) the error of everything before it. Its state's float graph
  // is the uncorrected one, the function the int8 graph is compared against.
  biasCorrection: async (current, { data, source, runner, quantize }) => {
    // Weights are rounded as for the uncorrected graph: adaptive rounding fits a layer to the inputs the float model gives it.
    const quantizeWith = (float: Graph) => quantize(float, current.ranges, current.float);
    const { corrected, reference, shifts } = await correctBiases(current.float, data, source, quantizeWith, runner);
    if (shifts.size === 0) return undefined;
    return { next: { float: reference, ranges: current.ranges, graph: await quantizeWith(corrected) }, ops: distinct([...shifts.keys()]) };
  },
};

const distinct = (ops: number[]) => [...new Set(ops)].sort((a, b) => a - b);

/**
 * The weight rounding of each float graph: none (to nearest), or adaptive rounding fitted to the
 * calibration inputs of that graph's layers, made once per graph.
 */
function weightRounding(mode: RoundingMode, data: CalibrationSet, source: ActivationSource): (float: Graph) => Promise<WeightRounding | undefined> {
  const made = new WeakMap<Graph, Promise<WeightRounding>>();
  return async (float) => {
    if (mode === 'nearest') return undefined;
    if (!made.has(float)) made.set(float, adaptiveRounding(float, data, source).then((r) => r.round));
    return made.get(float);
  };
}

const MODES: TechniqueMode[] = ['on', 'off', 'auto'];

function checkTechniques(given: PtqTechniques): Required<PtqTechniques> {
  const resolved: Required<PtqTechniques> = {
    equalization: given.equalization ?? 'auto',
    jointRanges: given.jointRanges ?? 'auto',
    biasCorrection: given.biasCorrection ?? 'auto',
    rounding: given.rounding ?? 'nearest',
  };
  for (const technique of TECHNIQUES) {
    if (!MODES.includes(resolved[technique])) throw usageError(`${technique} must be on, off or auto, got '${String(resolved[technique])}'`);
  }
  if (resolved.rounding !== 'nearest' && resolved.rounding !== 'adaptive') {
    throw usageError(`rounding must be nearest or adaptive, got '${String(resolved.rounding)}'`);
  }
  return resolved;
}
