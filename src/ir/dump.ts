// A readable text form of a graph, for `edgec inspect` and for error messages and test failures.

import { opMacs, opParamBytes } from './cost.ts';
import type { Graph, Op, Quantization, Tensor } from './types.ts';

const num = (x: number) => Number(x.toPrecision(5)).toString();

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function describeQuant(q: Quantization | undefined): string {
  if (!q) return '';
  if (q.scale.length === 1) return `s=${num(q.scale[0])} zp=${q.zeroPoint[0]}`;
  const lo = Math.min(...q.scale);
  const hi = Math.max(...q.scale);
  const zps = new Set(q.zeroPoint);
  const zp = zps.size === 1 ? `zp=${q.zeroPoint[0]}` : 'zp=per-channel';
  return `per-channel(axis ${q.axis}, ${q.scale.length}) s=${num(lo)}..${num(hi)} ${zp}`;
}

export function describeTensor(t: Tensor): string {
  const q = describeQuant(t.quant);
  return `${describeShape(t.shape)} ${t.dtype}${q ? ` ${q}` : ''}`;
}

const isUnit = (value: unknown) => Array.isArray(value) && value.length === 2 && value[0] === 1 && value[1] === 1;

/** The op's attributes in a compact, stable text form; defaults (stride 1, no activation, ...) are left out. */
export function describeAttrs(op: Op): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(op.attrs)) {
    if (value === 'none' || value === false || (key === 'depthMultiplier' && value === 1) || (key === 'beta' && value === 1)) continue;
    if ((key === 'stride' || key === 'dilation') && isUnit(value)) continue;
    if (key === 'cellClip' && value === 0) continue;
    if (key === 'state' && op.kind === 'unidirectional_sequence_lstm' && op.attrs.state) {
      const s = op.attrs.state;
      parts.push(`hidden state s=${s.hiddenScale.toPrecision(5)} zp=${s.hiddenZeroPoint}, cell state s=2^${Math.round(Math.log2(s.cellScale))}`);
      continue;
    }
    if (key === 'state' && op.kind === 'svdf') {
      const s = op.attrs.state;
      parts.push(`${s.dtype} state s=${s.scale.toPrecision(5)} zp=${s.zeroPoint}`);
      continue;
    }
    if (key === 'padding' || key === 'activation') parts.push(String(value));
    else if (key === 'filter' || key === 'stride' || key === 'dilation') parts.push(`${key} ${(value as number[]).join('x')}`);
    else parts.push(`${key} ${Array.isArray(value) ? JSON.stringify(value) : String(value)}`);
  }
  return parts.join(', ');
}

export function dumpGraph(graph: Graph): string {
  const lines: string[] = [];
  const ref = (t: number) => `%${t}`;
  lines.push(`graph ${graph.name}: ${graph.ops.length} ops, inputs ${graph.inputs.map(ref).join(', ')}, outputs ${graph.outputs.map(ref).join(', ')}`);
  for (const t of graph.inputs) lines.push(`  input  ${ref(t)} '${graph.tensors[t].name}' ${describeTensor(graph.tensors[t])}`);
  graph.ops.forEach((op, i) => {
    const ins = op.inputs.map((t) => `${ref(t)}${graph.tensors[t].data ? '(const)' : ''}`).join(', ');
    const attrs = describeAttrs(op);
    const macs = opMacs(graph, op);
    lines.push(`  ${String(i).padStart(3)} ${op.kind}${attrs ? ` {${attrs}}` : ''} (${ins}) -> ${ref(op.outputs[0])}`);
    lines.push(
      `      ${describeTensor(graph.tensors[op.outputs[0]])}` +
        `${macs ? `, ${macs} MACs` : ''}${opParamBytes(graph, op) ? `, ${opParamBytes(graph, op)} param bytes` : ''}`,
    );
  });
  for (const t of graph.outputs) lines.push(`  output ${ref(t)} '${graph.tensors[t].name}' ${describeTensor(graph.tensors[t])}`);
  return lines.join('\n');
}
