// Channel groups, DepGraph-style: which channels of a graph must be removed together. Every
// channel of every activation is a node; an op that ties channels (element-wise ops and ADD,
// depthwise with multiplier 1, pools, padding, a concatenation's stacking, a flatten's strided
// features) joins their nodes. Each connected set is one removable unit; units over the same
// tensors form a group, the thing allocation gives a channel count. Everything comes from the
// op-trait registry and the shapes, so a new op kind needs a registry entry, not code here.

import { numel } from '../ir/dtype.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { applyPruning, effectiveFlow, reshapeSpread } from './apply.ts';
import type { KeptChannels } from './types.ts';

export interface GroupMember {
  tensor: number;
  /** channels[u]: the channels of this tensor that unit u occupies (one, or H*W features after a flatten). */
  channels: number[][];
}

export interface ChannelGroup {
  id: number;
  /** For reports: the output of the first layer that makes these channels, else of the first member. */
  name: string;
  /** Removable units (channels of the producing layer). */
  size: number;
  members: GroupMember[];
  /** Ops whose weights' output axis makes these channels (conv, dense). */
  producers: number[];
  /** Ops whose weights' input axis reads them. */
  consumers: number[];
  /** Ops that carry the channels through with per-channel constants (depthwise, a batch norm's mul and add). */
  carriers: number[];
  prunable: boolean;
  /** Why the group cannot be pruned. */
  reason?: string;
  /** What removing one unit saves, with every other group whole. */
  cost: { macs: number; params: number };
}

/** Multiply-accumulates and parameters (constant elements, each constant counted once) of a graph. */
export function graphCost(graph: Graph): { macs: number; params: number } {
  let macs = 0;
  const constants = new Set<number>();
  for (const op of graph.ops) {
    const out = graph.tensors[op.outputs[0]].shape;
    const w = op.inputs.length > 1 ? graph.tensors[op.inputs[1]].shape : [];
    if (op.kind === 'conv2d') macs += numel(out) * w[1] * w[2] * w[3];
    else if (op.kind === 'depthwise_conv2d') macs += numel(out) * w[1] * w[2];
    else if (op.kind === 'fully_connected') macs += numel(out) * w[1];
    for (const t of op.inputs) if (graph.tensors[t].data) constants.add(t);
  }
  let params = 0;
  for (const t of constants) params += numel(graph.tensors[t].shape);
  return { macs, params };
}

const lastDim = (shape: number[]) => (shape.length === 0 ? 1 : shape[shape.length - 1]);

class UnionFind {
  readonly parent: Int32Array;
  constructor(size: number) {
    this.parent = Int32Array.from({ length: size }, (_, i) => i);
  }
  find(a: number): number {
    while (this.parent[a] !== a) {
      this.parent[a] = this.parent[this.parent[a]];
      a = this.parent[a];
    }
    return a;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export function channelGroups(graph: Graph): ChannelGroup[] {
  // One node per channel of every activation (graph inputs and op outputs).
  const activations = [...new Set([...graph.inputs, ...graph.ops.map((op) => op.outputs[0])])];
  const base = new Map<number, number>();
  let nodes = 0;
  for (const t of activations) {
    base.set(t, nodes);
    nodes += lastDim(graph.tensors[t].shape);
  }
  const uf = new UnionFind(nodes);
  const node = (t: number, c: number) => base.get(t)! + c;
  const isActivation = (t: number) => base.has(t);
  const blocked = new Map<number, string>();
  const block = (t: number, reason: string) => blocked.has(t) || blocked.set(t, reason);
  const producersOf = new Map<number, number>();
  const consumersOf = new Map<number, number[]>();
  const carriersOf = new Map<number, number[]>();
  const push = (map: Map<number, number[]>, t: number, op: number) => map.set(t, [...(map.get(t) ?? []), op]);

  graph.ops.forEach((op, index) => {
    const traits = opTraits(op);
    const out = op.outputs[0];
    const channels = lastDim(graph.tensors[out].shape);
    const data = traits.dataInputs(op).filter(isActivation);
    const tie = (t: number, at: (c: number) => number) => {
      for (let c = 0; c < lastDim(graph.tensors[t].shape); c++) uf.union(node(t, c), node(out, at(c)));
    };
    const flow = effectiveFlow(graph, op);
    switch (flow) {
      case 'none': {
        const { input, inputAxis } = traits.weights!;
        const depth = inputAxis === undefined ? undefined : graph.tensors[op.inputs[input]].shape[inputAxis];
        producersOf.set(out, index);
        for (const t of data) {
          if (depth === lastDim(graph.tensors[t].shape)) push(consumersOf, t, index);
          else block(t, `${op.kind} (op ${index}) reads it as one feature vector`);
        }
        return;
      }
      case 'same':
      case 'reduce': {
        for (const t of data) if (lastDim(graph.tensors[t].shape) === channels) tie(t, (c) => c);
        const perChannel = op.inputs.some((t) => !isActivation(t) && graph.tensors[t].data && lastDim(graph.tensors[t].shape) === channels);
        if (traits.weights || perChannel) push(carriersOf, out, index);
        return;
      }
      case 'concat': {
        let offset = 0;
        for (const t of op.inputs) {
          if (isActivation(t)) tie(t, (c) => c + offset);
          offset += lastDim(graph.tensors[t].shape);
        }
        return;
      }
      case 'reshape': {
        const input = op.inputs[0];
        const inChannels = lastDim(graph.tensors[input].shape);
        const spread = reshapeSpread(graph.tensors[input].shape, graph.tensors[out].shape)!;
        for (let c = 0; c < inChannels; c++) for (let s = 0; s < spread; s++) uf.union(node(input, c), node(out, s * inChannels + c));
        return;
      }
      case 'opaque':
        for (const t of [...data, out]) block(t, `${op.kind} (op ${index}) mixes channels`);
        return;
    }
  });
  for (const t of graph.inputs) block(t, 'it is a graph input');
  for (const t of graph.outputs) block(t, 'it is a graph output');

  // Units: the connected sets of channel nodes, in order of their first node.
  const units = new Map<number, Map<number, number[]>>();
  for (const t of activations) {
    for (let c = 0; c < lastDim(graph.tensors[t].shape); c++) {
      const root = uf.find(node(t, c));
      const unit = units.get(root) ?? new Map<number, number[]>();
      unit.set(t, [...(unit.get(t) ?? []), c]);
      units.set(root, unit);
    }
  }
  // Units over the same tensors (with as many channels in each) are alternatives of one group.
  const bySignature = new Map<string, Map<number, number[]>[]>();
  for (const unit of units.values()) {
    const signature = [...unit].map(([t, cs]) => `${t}:${cs.length}`).sort().join(',');
    bySignature.set(signature, [...(bySignature.get(signature) ?? []), unit]);
  }

  const groups: ChannelGroup[] = [];
  for (const list of bySignature.values()) {
    const tensors = [...list[0].keys()].sort((a, b) => a - b);
    const producers = tensors.filter((t) => producersOf.has(t)).map((t) => producersOf.get(t)!);
    const consumers = [...new Set(tensors.flatMap((t) => consumersOf.get(t) ?? []))].sort((a, b) => a - b);
    const carriers = [...new Set(tensors.flatMap((t) => carriersOf.get(t) ?? []))].sort((a, b) => a - b);
    const stop = tensors.find((t) => blocked.has(t));
    const reason =
      stop !== undefined
        ? `tensor ${stop} '${graph.tensors[stop].name}': ${blocked.get(stop)}`
        : producers.length === 0
          ? 'no layer makes these channels'
          : list.length < 2
            ? 'a single channel'
            : undefined;
    const named = producers.length > 0 ? graph.ops[producers[0]].outputs[0] : tensors[0];
    groups.push({
      id: groups.length,
      name: graph.tensors[named].name,
      size: list.length,
      members: tensors.map((t) => ({ tensor: t, channels: list.map((unit) => unit.get(t)!) })),
      producers,
      consumers,
      carriers,
      prunable: reason === undefined,
      ...(reason ? { reason } : {}),
      cost: { macs: 0, params: 0 },
    });
  }
  groups.sort((a, b) => firstOp(graph, a) - firstOp(graph, b) || a.members[0].channels[0][0] - b.members[0].channels[0][0]);
  groups.forEach((g, i) => (g.id = i));
  const whole = graphCost(graph);
  for (const g of groups.filter((g) => g.prunable)) {
    const less = graphCost(applyPruning(graph, keptChannels(graph, groups, new Map([[g.id, g.size - 1]]))));
    g.cost = { macs: whole.macs - less.macs, params: whole.params - less.params };
  }
  return groups;
}

/** Where a group first appears in the graph's order: a graph input, else the op writing its first member. */
function firstOp(graph: Graph, group: ChannelGroup): number {
  const t = group.members[0].tensor;
  return graph.ops.findIndex((op) => op.outputs[0] === t);
}

/**
 * The channels every tensor keeps when group g keeps the first `keep.get(g)` of `order.get(g)`
 * (its units, most important first; default: unit order). Groups not in `keep` stay whole.
 */
export function keptChannels(graph: Graph, groups: ChannelGroup[], keep: Map<number, number>, order?: Map<number, number[]>): KeptChannels {
  const removed = new Map<number, Set<number>>();
  for (const [id, count] of keep) {
    const group = groups[id];
    if (count >= group.size) continue;
    const ranking = order?.get(id) ?? Array.from({ length: group.size }, (_, u) => u);
    for (const u of ranking.slice(count)) {
      for (const member of group.members) {
        const set = removed.get(member.tensor) ?? new Set<number>();
        for (const c of member.channels[u]) set.add(c);
        removed.set(member.tensor, set);
      }
    }
  }
  const kept: KeptChannels = new Map();
  for (const [t, set] of removed) {
    kept.set(t, Array.from({ length: lastDim(graph.tensors[t].shape) }, (_, c) => c).filter((c) => !set.has(c)));
  }
  return kept;
}
