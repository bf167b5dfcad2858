// Structured pruning to a budget, as one call: channel groups -> importance -> sensitivity scan
// and allocation -> channels removed -> recovery on the user's data. The result is a smaller
// float graph with the original's op and tensor indices, ready for quantization.

import { runFloat } from '../float/run.ts';
import { opMacs } from '../ir/cost.ts';
import { numel } from '../ir/dtype.ts';
import { dataError, EdgecError, modelError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { allocate, createEvaluator, pickSamples, sensitivityScan, type Evaluation, type Sensitivity } from './allocate.ts';
import { applyPruning } from './apply.ts';
import { budgetMeters, type BoardSizer, type Budget } from './budget.ts';
import { distill } from './distill.ts';
import { channelGroups, keptChannels, type ChannelGroup } from './groups.ts';
import { groupImportance, type Criterion, type GroupImportance } from './importance.ts';
import { chooseRank, lowRankCandidates } from './low-rank.ts';
import { compensate } from './recover.ts';
import { taylorImportance } from './taylor.ts';
import type { Dataset, KeptChannels } from './types.ts';

export { applyPruning } from './apply.ts';
export { BUDGET_KINDS, budgetOf, parseBudgets, type BoardSizer, type Budget, type BudgetKind } from './budget.ts';
export { channelGroups, graphCost, keptChannels, type ChannelGroup } from './groups.ts';
export { CRITERIA, groupImportance, type Criterion } from './importance.ts';
export type { Dataset, KeptChannels } from './types.ts';

export type PrunePhase = 'factorization' | 'importance' | 'sensitivity' | 'allocation' | 'compensation' | 'distillation';

export interface PruneOptions {
  budgets: Budget[];
  /** Default 'activation', the best of the criteria on the Fashion-MNIST example. */
  criterion?: Criterion;
  /** The user's samples: importance and recovery use them; a part is held out when `validation` is absent. */
  data: Dataset;
  /** Held-out samples for the sensitivity scan and the accuracy report. */
  validation?: Dataset;
  /** The model as imported, before batch norms were folded (the 'bn' criterion reads it). */
  imported?: Graph;
  /** Measures int8 bytes on a board, for flash and RAM budgets. */
  sizer?: BoardSizer;
  /**
   * Factorize dense layers and 1x1 convolutions by truncated SVD first, each at the smallest rank
   * whose outputs stay within `tolerance` (relative squared error, default 0.01) of the model's;
   * channel pruning then goes the rest of the way to the budget.
   */
  lowRank?: { tolerance?: number };
  /** Distillation epochs over the training samples; 0 leaves recovery to compensation and refit. Default 2. */
  epochs?: number;
  /** Seconds distillation may take at most. Default: no limit. */
  timeLimit?: number;
  /** Seeds distillation's sample order. Default 1. */
  seed?: number;
  /** `eta`: seconds left, when the phase knows better than its progress so far tells. */
  onProgress?: (phase: PrunePhase, done: number, total: number, eta?: number) => void;
}

export interface BudgetOutcome {
  label: string;
  target: number;
  before: number;
  after: number;
}

export interface PruneResult {
  criterion: Criterion;
  original: Graph;
  /** Channels removed, before recovery. */
  pruned: Graph;
  /** After recovery: what to quantize. Same ops and shapes as `pruned`; compensation may add a bias tensor. */
  graph: Graph;
  kept: KeptChannels;
  groups: ChannelGroup[];
  importance: Map<number, GroupImportance>;
  sensitivity: Sensitivity[];
  /** Units each prunable group keeps. */
  keep: Map<number, number>;
  /** Measured on the recovered graph. */
  budgets: BudgetOutcome[];
  /** On the held-out samples: top-1 against labels ('accuracy') or against the unpruned model ('agreement'). */
  evaluation: { metric: 'accuracy' | 'agreement'; samples: number; heldOutFrom: 'validation' | 'data'; before: Evaluation; pruned: Evaluation; recovered: Evaluation };
  /** Layers factorized before channel pruning, one line each. */
  factorized: string[];
  /** What recovery did, one line per step. */
  recovery: string[];
}

/** Samples the scan evaluates at most: enough to rank steps, few enough to keep it quick. */
const SCAN_SAMPLES = 2000;

function checkDataset(graph: Graph, data: Dataset, what: string): void {
  graph.inputs.forEach((t, k) => {
    const size = numel(graph.tensors[t].shape);
    if (!data.inputs[k] || data.inputs[k].length !== data.count * size) {
      throw dataError(`${what}: input '${graph.tensors[t].name}' needs ${data.count} samples of [${graph.tensors[t].shape}]`);
    }
  });
  if (data.count < 1) throw dataError(`${what}: no samples`);
  if (data.labels && data.labels.length !== data.count) throw dataError(`${what}: ${data.labels.length} labels for ${data.count} samples`);
  const classes = numel(graph.tensors[graph.outputs[0]].shape);
  const bad = data.labels?.findIndex((l) => !(l >= 0 && l < classes)) ?? -1;
  if (bad >= 0) throw dataError(`${what}: label ${data.labels![bad]} of sample ${bad} is not a class of the model's ${classes} outputs`);
}

/**
 * Training and held-out samples: the validation set when given, else every fifth sample of the
 * data (at most 1,000; spread over the file, so data sorted by class is held out evenly).
 */
function split(graph: Graph, options: PruneOptions): { train: Dataset; heldOut: Dataset; from: 'validation' | 'data' } {
  const { data, validation } = options;
  if (validation) return { train: data, heldOut: validation, from: 'validation' };
  if (data.count < 10) return { train: data, heldOut: data, from: 'data' };
  const stride = Math.max(5, Math.ceil(data.count / 1000));
  const all = Array.from({ length: data.count }, (_, i) => i);
  const held = all.filter((i) => i % stride === stride - 1);
  return { train: pickSamples(graph, data, all.filter((i) => i % stride !== stride - 1)), heldOut: pickSamples(graph, data, held), from: 'data' };
}

const DEFAULT_EPOCHS = 2;

const fixed = (x: number) => x.toPrecision(3);

/** Bias compensation and least-squares refit of every layer that reads pruned channels, described. */
async function compensateLayers(original: Graph, pruned: Graph, kept: KeptChannels, train: Dataset, seed: number | undefined): Promise<{ graph: Graph; steps: string[] }> {
  if (kept.size === 0) return { graph: pruned, steps: [] };
  const { graph, layers } = await compensate(original, pruned, kept, train, { refit: true, ...(seed !== undefined ? { seed } : {}) });
  if (layers.length === 0) return { graph, steps: [] };
  const detail = layers.map((l) => `${l.name} ${fixed(l.error.pruned)} -> ${fixed(l.error.refit ?? l.error.compensated)}`).join(', ');
  return { graph, steps: [`bias compensation and least-squares refit of ${layers.length} layer(s) reading pruned channels (relative output error: ${detail})`] };
}

/** Knowledge distillation from the unpruned model (labels joining in when given), described. */
async function distillLayers(original: Graph, compensated: Graph, train: Dataset, options: PruneOptions): Promise<{ graph: Graph; steps: string[] }> {
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  if (epochs === 0) return { graph: compensated, steps: [] };
  const progress = options.onProgress ?? (() => {});
  try {
    const tuned = await distill(original, compensated, train, {
      epochs,
      ...(options.timeLimit !== undefined ? { timeLimit: options.timeLimit } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      onProgress: (p) => progress('distillation', p.step, p.steps, p.eta),
    });
    const cut = tuned.stoppedBy === 'time' ? `, stopped by the ${options.timeLimit} s limit` : '';
    return {
      graph: tuned.graph,
      steps: [
        `distillation from the unpruned model${train.labels ? ' with the labels' : ''}: ${tuned.losses.length} epoch(s) over ${train.count} samples in ${Math.round(tuned.seconds)} s${cut} (loss ${tuned.losses.map(fixed).join(' -> ')})`,
      ],
    };
  } catch (error) {
    // A model tfjs cannot differentiate keeps the compensated weights, unless epochs were asked for.
    if (options.epochs !== undefined || !(error instanceof EdgecError) || error.kind !== 'usage') throw error;
    return { graph: compensated, steps: [`no distillation: ${error.message}`] };
  }
}

/** Tries at allocation: compensation may give a layer without a bias one, which a retry makes room for. */
const ALLOCATION_TRIES = 3;

/**
 * Every dense layer and 1x1 convolution factorized at the smallest rank that keeps the outputs
 * within tolerance on the training samples, one after the other (each sees the ones before).
 */
async function factorize(graph: Graph, train: Dataset, options: { tolerance?: number; seed?: number }, progress: NonNullable<PruneOptions['onProgress']>): Promise<{ graph: Graph; steps: string[] }> {
  let current = graph;
  const steps: string[] = [];
  // Weights tensors keep their indices through a factorization; the new first factor is appended.
  const tried = new Set<number>();
  const total = lowRankCandidates(graph).length;
  const next = () => lowRankCandidates(current).find((c) => !tried.has(current.ops[c.op].inputs[1]));
  for (let candidate = next(); candidate; candidate = next()) {
    const op = current.ops[candidate.op];
    tried.add(op.inputs[1]);
    progress('factorization', tried.size - 1, total);
    const choice = await chooseRank(current, candidate.op, train, options);
    if (!choice) continue;
    tried.add(choice.graph.tensors.length - 2);
    current = choice.graph;
    steps.push(
      `${current.tensors[op.outputs[0]].name}: [${candidate.n}, ${candidate.k}] as rank ${choice.rank} (output error ${fixed(choice.error)}), ${choice.saved.macs} MACs and ${choice.saved.params} parameters fewer`,
    );
  }
  progress('factorization', total, total);
  return { graph: current, steps };
}

export async function pruneModel(original: Graph, options: PruneOptions): Promise<PruneResult> {
  checkDataset(original, options.data, 'the pruning data');
  if (options.validation) checkDataset(original, options.validation, 'the validation data');
  const progress = options.onProgress ?? (() => {});
  const { train, heldOut, from } = split(original, options);
  // Channels are pruned from `graph`: the model as given, or factorized first.
  const factorized = options.lowRank ? await factorize(original, train, { ...options.lowRank, ...(options.seed !== undefined ? { seed: options.seed } : {}) }, progress) : { graph: original, steps: [] };
  const graph = factorized.graph;
  const groups = channelGroups(graph);
  const meters = budgetMeters(graph, groups, options.budgets, options.sizer, original);

  progress('importance', 0, 1);
  const criterion = options.criterion ?? 'activation';
  const importance = await groupImportance(graph, groups, criterion, {
    data: train,
    run: (g, inputs, keep) => runFloat(g, inputs, { keep }),
    taylor: (g, data) => taylorImportance(g, data),
    imported: options.imported,
  });
  progress('importance', 1, 1);

  // Errors and agreement are against the model as given.
  const evaluate = await createEvaluator(original, heldOut);
  const scanEvaluate = heldOut.count > SCAN_SAMPLES ? await createEvaluator(original, pickSamples(original, heldOut, Array.from({ length: SCAN_SAMPLES }, (_, i) => i))) : evaluate;
  const sensitivity = await sensitivityScan(graph, groups, importance, scanEvaluate, (done, total) => progress('sensitivity', done, total));

  // Allocate, remove, compensate; the budgets hold for the compensated graph, which is what ships.
  const order = new Map([...importance].map(([id, imp]) => [id, imp.order]));
  const slack = meters.map(() => 0);
  let attempt: { keep: Map<number, number>; kept: KeptChannels; pruned: Graph; compensated: { graph: Graph; steps: string[] }; values: number[] };
  for (let tries = 1; ; tries++) {
    progress('allocation', 0, 1);
    const tightened = meters.map((m, i) => ({ ...m, target: m.target - slack[i] }));
    const { keep } = allocate(graph, groups, importance, sensitivity, tightened, (done, total) => progress('allocation', done, total));
    const kept = keptChannels(graph, groups, keep, order);
    const pruned = applyPruning(graph, kept);
    progress('allocation', 1000, 1000);
    progress('compensation', 0, 1);
    const compensated = await compensateLayers(graph, pruned, kept, train, options.seed);
    progress('compensation', 1, 1);
    const values = meters.map((m) => m.measure(compensated.graph));
    attempt = { keep, kept, pruned, compensated, values };
    const over = meters.map((m, i) => values[i] - m.target);
    if (over.every((x) => x <= 0)) break;
    if (tries === ALLOCATION_TRIES) {
      const m = meters[over.findIndex((x) => x > 0)];
      throw modelError(`the compensated model needs ${m.label} ${values[meters.indexOf(m)]}, over the budget of ${Math.floor(m.target)}: bias compensation gave layers without a bias one; try a smaller budget`);
    }
    over.forEach((x, i) => (slack[i] += Math.max(0, x)));
  }
  const { keep, kept, pruned, compensated, values } = attempt;
  const distilled = await distillLayers(original, compensated.graph, train, options);
  const [before, afterPruning, afterRecovery] = [await evaluate(original), await evaluate(pruned), await evaluate(distilled.graph)];
  return {
    criterion,
    original,
    pruned,
    graph: distilled.graph,
    kept,
    groups,
    importance,
    sensitivity,
    keep,
    budgets: meters.map((m, i) => ({ label: m.label, target: m.target, before: m.original, after: values[i] })),
    evaluation: {
      metric: heldOut.labels ? 'accuracy' : 'agreement',
      samples: heldOut.count,
      heldOutFrom: from,
      before,
      pruned: afterPruning,
      recovered: afterRecovery,
    },
    factorized: factorized.steps,
    recovery: [...compensated.steps, ...distilled.steps],
  };
}

export interface LayerChange {
  /** The op's index in the pruned graph. */
  op: number;
  kind: string;
  /** The layer's output tensor name. */
  name: string;
  /** 0 before for a layer that factorization added. */
  channels: [before: number, after: number];
  macs: [before: number, after: number];
  params: [before: number, after: number];
}

/**
 * Every layer with weights, before and after: output channels, MACs, parameters. Layers are
 * matched by their output tensor, whose index pruning and factorization keep.
 */
export function layerChanges(original: Graph, pruned: Graph): LayerChange[] {
  const params = (g: Graph, i: number) => g.ops[i].inputs.reduce((n, t) => n + (g.tensors[t].data ? numel(g.tensors[t].shape) : 0), 0);
  const channels = (g: Graph, i: number) => g.tensors[g.ops[i].outputs[0]].shape.at(-1) ?? 1;
  const before = new Map(original.ops.map((op, i) => [op.outputs[0], i]));
  return pruned.ops.flatMap((op, i) => {
    if (!opTraits(op).weights) return [];
    const was = before.get(op.outputs[0]);
    const old = (f: (g: Graph, i: number) => number) => (was === undefined ? 0 : f(original, was));
    return [
      {
        op: i,
        kind: op.kind,
        name: pruned.tensors[op.outputs[0]].name,
        channels: [old(channels), channels(pruned, i)],
        macs: [old((g, j) => opMacs(g, g.ops[j])), opMacs(pruned, op)],
        params: [old(params), params(pruned, i)],
      },
    ];
  });
}
