// What the user wants the pruned model to fit: a fraction of the original's MACs or parameters,
// or bytes on a board (flash: int8 weights plus code, as `edgec build` reports them; RAM: the
// planned activation arena). A meter measures a candidate graph in the budget's unit. Budgets the
// groups cannot reach, and nonsense ones, are refused with the smallest model the groups allow.

import { usageError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { applyPruning } from './apply.ts';
import { graphCost, keptChannels, type ChannelGroup } from './groups.ts';

export const BUDGET_KINDS = ['macs', 'params', 'flash', 'ram'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/** `macs` and `params` are ratios of the original model's; `flash` and `ram` are bytes. */
export interface Budget {
  kind: BudgetKind;
  value: number;
}

/**
 * A float graph's footprint on one board once quantized to int8, by the caller's quantizer and
 * code generator (pruning does not depend on them): constant bytes and the planned arena.
 */
export interface BoardSizer {
  board: string;
  size(graph: Graph): { weightBytes: number; arenaBytes: number };
  /** Flash the program takes besides the weights (measured once by building the unpruned model). */
  codeBytes: number;
}

export interface BudgetMeter {
  budget: Budget;
  /** What is measured, e.g. 'MACs' or 'flash bytes (stm32f4)'. */
  label: string;
  /** The largest allowed value, in the unit `measure` gives. */
  target: number;
  original: number;
  measure(graph: Graph): number;
}

const isRatio = (kind: BudgetKind) => kind === 'macs' || kind === 'params';

/** `macs=0.5`, `flash=20000`, or several joined by commas (all must hold). */
export function parseBudgets(text: string): Budget[] {
  const budgets = text.split(',').map((part) => {
    const [kind, value, extra] = part.split('=').map((s) => s.trim());
    if (!(BUDGET_KINDS as readonly string[]).includes(kind) || value === undefined || extra !== undefined) {
      throw usageError(`budget '${part}': write ${BUDGET_KINDS.map((k) => `${k}=${isRatio(k) ? 'R' : 'B'}`).join(', ')} (R a ratio of the original, B bytes)`);
    }
    return budgetOf(kind as BudgetKind, value);
  });
  const kinds = budgets.map((b) => b.kind);
  if (new Set(kinds).size !== kinds.length) throw usageError(`budget '${text}' names a kind twice`);
  return budgets;
}

/** A budget from its kind and the text of its value; only the number is checked here. */
export function budgetOf(kind: BudgetKind, text: string): Budget {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw usageError(`--${kind} takes a number, got '${text}'`);
  return { kind, value };
}

function describe(budget: Budget): string {
  return isRatio(budget.kind) ? `--${budget.kind} ${budget.value}` : `--${budget.kind} ${budget.value} bytes`;
}

function meterOf(graph: Graph, budget: Budget, sizer?: BoardSizer): BudgetMeter {
  const cost = (g: Graph) => graphCost(g)[budget.kind as 'macs' | 'params'];
  switch (budget.kind) {
    case 'macs':
    case 'params': {
      const original = cost(graph);
      return { budget, label: budget.kind === 'macs' ? 'MACs' : 'parameters', target: budget.value * original, original, measure: cost };
    }
    case 'flash':
    case 'ram': {
      if (!sizer) throw usageError(`--${budget.kind} needs a board (--board) to measure bytes on`);
      const measure = budget.kind === 'flash' ? (g: Graph) => sizer.size(g).weightBytes + sizer.codeBytes : (g: Graph) => sizer.size(g).arenaBytes;
      const label =
        budget.kind === 'flash'
          ? `flash bytes on ${sizer.board} (int8 weights as generated for it + ${sizer.codeBytes} bytes of code, measured by building the unpruned model)`
          : `arena bytes on ${sizer.board}`;
      return { budget, label, target: budget.value, original: measure(graph), measure };
    }
  }
}

/** The graph with every prunable group down to one channel: the smallest the groups allow. */
export function smallestModel(graph: Graph, groups: ChannelGroup[]): Graph {
  const keep = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, 1]));
  return applyPruning(graph, keptChannels(graph, groups, keep));
}

function smallestText(graph: Graph, smallest: Graph, sizer?: BoardSizer): string {
  const [whole, least] = [graphCost(graph), graphCost(smallest)];
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b).toFixed(3);
  const parts = [
    `${least.macs} MACs (macs=${ratio(least.macs, whole.macs)})`,
    `${least.params} parameters (params=${ratio(least.params, whole.params)})`,
  ];
  if (sizer) {
    const size = sizer.size(smallest);
    parts.push(`${size.weightBytes + sizer.codeBytes} flash bytes on ${sizer.board} (flash=${size.weightBytes + sizer.codeBytes})`, `${size.arenaBytes} arena bytes (ram=${size.arenaBytes})`);
  }
  return `the smallest model the channel groups allow (every prunable group at one channel) has ${parts.join(', ')}`;
}

/**
 * One meter per budget, after checking each budget makes sense and can be met: a ratio in (0, 1],
 * a positive whole number of bytes, at least what the smallest model needs. `groups` are those
 * of `graph`; ratios are of `reference`, the model as the user gave it, when `graph` was already
 * changed (factorized) on the way.
 */
export function budgetMeters(graph: Graph, groups: ChannelGroup[], budgets: Budget[], sizer?: BoardSizer, reference: Graph = graph): BudgetMeter[] {
  if (budgets.length === 0) throw usageError('give a budget: --macs R, --params R, --flash B or --ram B');
  const smallest = smallestModel(graph, groups);
  const refuse = (why: string) => usageError(`${why}; ${smallestText(reference, smallest, sizer)}`);
  return budgets.map((budget) => {
    if (isRatio(budget.kind) && !(budget.value > 0 && budget.value <= 1)) throw refuse(`${describe(budget)}: a ratio of the original must be above 0 and at most 1`);
    if (!isRatio(budget.kind) && !(Number.isInteger(budget.value) && budget.value > 0)) throw refuse(`${describe(budget)}: a budget in bytes must be a positive whole number`);
    const meter = meterOf(reference, budget, sizer);
    const least = meter.measure(smallest);
    if (least > meter.target) {
      throw refuse(`${describe(budget)} is out of reach: ${meter.label} cannot go below ${least} (the budget allows ${Math.floor(meter.target)})`);
    }
    return meter;
  });
}
