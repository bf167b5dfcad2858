// `edgec prune` (and `edgec build --prune`): the user's samples and budget read from the command
// line, the pruning run with progress on stderr, and the report: per layer, channels, MACs and
// parameters before and after, each budget, and accuracy before pruning, after it and after recovery.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numel } from '../src/ir/dtype.ts';
import { dataError, usageError } from '../src/ir/errors.ts';
import { progressSilenced } from './progress.ts';
import type { Graph } from '../src/ir/types.ts';
import { BUDGET_KINDS, budgetOf, parseBudgets, type BoardSizer, type Budget } from '../src/prune/budget.ts';
import { CRITERIA, type Criterion } from '../src/prune/importance.ts';
import type { PrunePhase, PruneResult } from '../src/prune/index.ts';
import type { Dataset } from '../src/prune/types.ts';
import type { FlagSpec, ParsedArgs } from './args.ts';
import { formatTable, thousands } from './table.ts';

// main.ts reads the flags below at start-up; the executor, quantizer and code generator load only
// when a command prunes.

/** The flags `edgec prune` and `edgec build --prune` share. */
export const PRUNE_DATA_FLAGS: Record<string, FlagSpec> = {
  data: { value: true, repeat: true, help: 'samples to prune with (.npy float32, first axis = sample; one file per model input)' },
  labels: { value: true, help: 'class index per sample of --data (.npy of integers); without it, accuracy is agreement with the unpruned model' },
  'val-data': { value: true, repeat: true, help: 'held-out samples for the sensitivity scan and the accuracy report (default: every fifth sample of --data, at most 1,000, spread over the file)' },
  'val-labels': { value: true, help: 'class index per sample of --val-data' },
  criterion: { value: true, choices: CRITERIA, help: `channel importance: ${CRITERIA.join(', ')} (default activation)` },
  epochs: { value: true, help: 'distillation epochs over --data after pruning (default 2; 0: compensation and refit only)' },
  'time-limit': { value: true, help: 'seconds distillation may take at most (default: no limit)' },
  seed: { value: true, help: 'seed of the shuffles and samples pruning draws (default 1): the same seed, data and flags give the same model' },
  'low-rank': { help: 'first factorize dense layers and 1x1 convolutions by truncated SVD where the outputs stay within 1% (relative squared error)' },
};

export const PRUNE_BUDGET_FLAGS: Record<string, FlagSpec> = {
  macs: { value: true, help: 'at most this ratio of the original MACs (0 < R <= 1)' },
  params: { value: true, help: 'at most this ratio of the original parameters (0 < R <= 1)' },
  flash: { value: true, help: 'at most this many bytes of flash on --board: int8 weights plus code, as edgec build reports them' },
  ram: { value: true, help: "at most this many bytes of activation arena on --board (the memory plan's)" },
};

export interface PruneRequest {
  model: string;
  budgets: Budget[];
  board?: string;
  data: Dataset;
  validation?: Dataset;
  criterion?: Criterion;
  epochs?: number;
  timeLimit?: number;
  lowRank?: boolean;
  seed?: number;
}

const value = (args: ParsedArgs, flag: string) => args.values.get(flag)?.[0];

/** Integer labels of `count` samples, one per sample. */
async function readLabels(path: string, count: number): Promise<Int32Array> {
  const { readSampleFiles } = await import('../src/samples.ts');
  const [array] = await readSampleFiles([path]);
  if (!['int8', 'uint8', 'int16', 'int32', 'int64'].includes(array.dtype)) throw dataError(`${path}: labels must be integers, the file holds ${array.dtype}`);
  if (numel(array.shape) !== count || array.shape[0] !== count) throw dataError(`${path}: shape [${array.shape}] is not one label for each of the ${count} samples`);
  return Int32Array.from(array.data as ArrayLike<number | bigint>, (v) => Number(v));
}

async function readDataset(graph: Graph, files: string[], labels: string | undefined): Promise<Dataset> {
  const { countSamples, readSampleFiles } = await import('../src/samples.ts');
  const arrays = await readSampleFiles(files);
  const count = countSamples(graph, arrays, files);
  return {
    inputs: arrays.map((a) => a.data as Float32Array),
    count,
    ...(labels ? { labels: await readLabels(labels, count) } : {}),
  };
}

/** The budgets of `--macs R` style flags, or of a `--prune macs=R,...` value. */
export function budgetsFrom(args: ParsedArgs): Budget[] {
  const prune = value(args, 'prune');
  if (prune !== undefined) return parseBudgets(prune);
  return BUDGET_KINDS.filter((k) => args.values.has(k)).map((k) => budgetOf(k, value(args, k)!));
}

/** What the prune flags ask for; `verb` names the command in errors. */
export async function pruneRequest(verb: string, args: ParsedArgs, graph: Graph, budgets: Budget[]): Promise<Omit<PruneRequest, 'model'>> {
  const data = args.values.get('data');
  if (!data) throw usageError(`edgec ${verb}: pruning needs --data <x.npy>: samples of the model's inputs`);
  const valData = args.values.get('val-data');
  if (value(args, 'val-labels') !== undefined && !valData) throw usageError(`edgec ${verb}: --val-labels goes with --val-data`);
  const criterion = value(args, 'criterion');
  const epochsText = value(args, 'epochs');
  const epochs = epochsText === undefined ? undefined : Number(epochsText);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 0)) throw usageError(`edgec ${verb}: --epochs takes a whole number, got '${epochsText}'`);
  const limitText = value(args, 'time-limit');
  const timeLimit = limitText === undefined ? undefined : Number(limitText);
  if (timeLimit !== undefined && !(timeLimit > 0)) throw usageError(`edgec ${verb}: --time-limit takes a positive number of seconds, got '${limitText}'`);
  const seedText = value(args, 'seed');
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw usageError(`edgec ${verb}: --seed takes a whole number, got '${seedText}'`);
  return {
    budgets,
    board: value(args, 'board'),
    data: await readDataset(graph, data, value(args, 'labels')),
    ...(valData ? { validation: await readDataset(graph, valData, value(args, 'val-labels')) } : {}),
    ...(criterion ? { criterion: criterion as Criterion } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(timeLimit !== undefined ? { timeLimit } : {}),
    ...(args.switches.has('low-rank') ? { lowRank: true } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/**
 * The imported graph (for the batch-norm criterion) and the folded float graph pruning works on;
 * with `requantize` (edgec build --prune --requantize), a quantized model as the float graph it approximates.
 */
export async function loadFloatModel(path: string, requantize = false): Promise<{ imported: Graph; graph: Graph }> {
  const { loadModel } = await import('../src/import/index.ts');
  const { dequantizeGraph } = await import('../src/import/float-graph.ts');
  const { runPasses } = await import('../src/passes/index.ts');
  const { isFloatGraph } = await import('../src/pipeline.ts');
  const imported = requantize ? dequantizeGraph(await loadModel(path)) : await loadModel(path);
  const graph = runPasses(imported);
  if (!isFloatGraph(graph)) throw usageError(`${graph.name} is already quantized; prune the float model, then quantize it`);
  return { imported, graph };
}

/**
 * int8 sizes on the board of a float graph: quantized with ranges recorded once on the unpruned
 * graph (the byte counts depend on shapes only, and pruning keeps tensor indices), then generated
 * for the board. The code is measured once, by building the unpruned model.
 */
async function boardSizer(graph: Graph, data: Dataset, board: string, needCode: boolean): Promise<BoardSizer> {
  const { runFloat } = await import('../src/float/run.ts');
  const { quantizeGraph } = await import('../src/quant/quantize.ts');
  const { recordRanges } = await import('../src/quant/record.ts');
  const { buildForBoard, generateForBoard } = await import('../src/targets/build.ts');
  const { loadBoard } = await import('../src/toolchain/index.ts');
  const spec = loadBoard(board);
  const count = Math.min(data.count, 200);
  const inputs = graph.inputs.map((t, k) => data.inputs[k].subarray(0, count * numel(graph.tensors[t].shape)));
  const ranges = await recordRanges(graph, { inputs, count }, (g, i, keep) => runFloat(g, i, { keep }));
  const size = (g: Graph) => {
    // Activations the unpruned graph lacks (a factorized layer's middle) get a stand-in range:
    // the bytes depend on shapes only.
    const all = new Map(ranges);
    for (const op of g.ops) if (!all.has(op.outputs[0])) all.set(op.outputs[0], [-1, 1]);
    const model = generateForBoard(quantizeGraph(g, all), spec);
    return { weightBytes: model.weightBytes, arenaBytes: model.plan.arenaBytes };
  };
  let codeBytes = 0;
  if (needCode) {
    const dir = mkdtempSync(join(tmpdir(), 'edgec-prune-'));
    try {
      codeBytes = (await buildForBoard(quantizeGraph(graph, ranges), board, dir)).report.flash.code;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { board, size, codeBytes };
}

const seconds = (s: number) => {
  const whole = Math.round(s);
  return whole >= 90 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
};

/**
 * Progress on stderr, phase by phase, with the time left once a phase has run a few seconds: a
 * rewritten line on a terminal, a line every five seconds in a log.
 */
export function pruneProgress(): { onProgress: (phase: PrunePhase, done: number, total: number, eta?: number) => void; end(): void } {
  if (progressSilenced()) return { onProgress() {}, end() {} };
  const tty = process.stderr.isTTY;
  let phase = '';
  let started = 0;
  let last = 0;
  let open = false;
  const end = () => {
    if (tty && open) process.stderr.write('\n');
    open = false;
  };
  return {
    onProgress(next, done, total, known) {
      const now = Date.now();
      if (next !== phase) {
        end();
        phase = next;
        started = now;
        last = tty ? 0 : now;
      }
      if (done < total && now - last < (tty ? 100 : 5000)) return;
      last = now;
      const elapsed = (now - started) / 1000;
      const left = known ?? (done > 0 ? (elapsed * (total - done)) / done : undefined);
      const eta = left !== undefined && done < total && elapsed > 2 ? `, about ${seconds(left)} left` : '';
      const text = `${phase}: ${done}/${total} (${Math.floor((100 * done) / total)}%${eta})`;
      if (tty) {
        process.stderr.write(`\r${text}\x1b[K`);
        open = true;
      } else if (done < total) process.stderr.write(`${text}\n`);
    },
    end,
  };
}

/** Prunes the folded float graph of `request.model`; flash and RAM budgets are measured on the board. */
export async function runPrune(request: PruneRequest, loaded: { imported: Graph; graph: Graph }): Promise<PruneResult> {
  const kinds = request.budgets.map((b) => b.kind);
  const onBoard = kinds.includes('flash') || kinds.includes('ram');
  const sizer = onBoard ? await boardSizer(loaded.graph, request.data, request.board ?? 'stm32f4', kinds.includes('flash')) : undefined;
  const { pruneModel } = await import('../src/prune/index.ts');
  const progress = pruneProgress();
  try {
    return await pruneModel(loaded.graph, {
      budgets: request.budgets,
      data: request.data,
      ...(request.validation ? { validation: request.validation } : {}),
      ...(request.criterion ? { criterion: request.criterion } : {}),
      ...(request.epochs !== undefined ? { epochs: request.epochs } : {}),
      ...(request.timeLimit !== undefined ? { timeLimit: request.timeLimit } : {}),
      ...(request.lowRank ? { lowRank: {} } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      imported: loaded.imported,
      ...(sizer ? { sizer } : {}),
      onProgress: progress.onProgress,
    });
  } finally {
    progress.end();
  }
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const arrow = (a: number, b: number) => `${thousands(a)} -> ${thousands(b)}`;

/** The same report for --json: per layer, channels, MACs and parameters as [before, after]. */
export async function pruneReportJson(result: PruneResult) {
  const { layerChanges } = await import('../src/prune/index.ts');
  return {
    model: result.original.name,
    criterion: result.criterion,
    prunableGroups: result.groups.filter((g) => g.prunable).length,
    layers: layerChanges(result.original, result.graph),
    budgets: result.budgets,
    evaluation: result.evaluation,
    factorized: result.factorized,
    recovery: result.recovery,
  };
}

export async function pruneReportText(result: PruneResult): Promise<string> {
  const { layerChanges } = await import('../src/prune/index.ts');
  const layers = layerChanges(result.original, result.graph);
  const sum = (pick: (l: (typeof layers)[number]) => [number, number], k: 0 | 1) => layers.reduce((n, l) => n + pick(l)[k], 0);
  const rows = layers.map((l) => [String(l.op), l.kind, l.name.length > 32 ? `…${l.name.slice(-31)}` : l.name, arrow(...l.channels), arrow(...l.macs), arrow(...l.params)]);
  const [macs0, macs1, params0, params1] = [sum((l) => l.macs, 0), sum((l) => l.macs, 1), sum((l) => l.params, 0), sum((l) => l.params, 1)];
  rows.push(['', 'total', '', '', `${arrow(macs0, macs1)} (${(macs1 / macs0).toFixed(3)})`, `${arrow(params0, params1)} (${(params1 / params0).toFixed(3)})`]);
  const e = result.evaluation;
  const what = e.metric === 'accuracy' ? 'accuracy' : "agreement with the unpruned model's top-1 (no labels)";
  const where = e.heldOutFrom === 'validation' ? `the ${thousands(e.samples)} --val-data samples` : `${thousands(e.samples)} samples held out of --data`;
  return [
    `pruned ${result.original.name} (criterion ${result.criterion}): ${result.groups.filter((g) => g.prunable).length} prunable channel groups`,
    '',
    formatTable(['op', 'kind', 'layer', 'channels', 'MACs', 'parameters'], rows, new Set([0, 3, 4, 5])),
    '',
    ...(result.factorized.length > 0 ? ['factorized first:', ...result.factorized.map((line) => `  ${line}`)] : []),
    ...result.budgets.map((b) => `budget: ${b.label} ${arrow(Math.round(b.before), Math.round(b.after))}, at most ${thousands(Math.floor(b.target))}`),
    `${what} on ${where}:`,
    `  before pruning ${percent(e.before.accuracy)}, after pruning ${percent(e.pruned.accuracy)}, after recovery ${percent(e.recovered.accuracy)}`,
    `output error (squared distance from the unpruned outputs over their squared size): after pruning ${e.pruned.error.toPrecision(3)}, after recovery ${e.recovered.error.toPrecision(3)}`,
    `recovery: ${result.recovery.length > 0 ? result.recovery.join('; ') : 'none'}`,
  ].join('\n');
}
