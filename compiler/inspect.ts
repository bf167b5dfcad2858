// `edgec inspect`: what is in a model, one row per op, and totals.

import { opMacs, opParamBytes } from '../src/ir/cost.ts';
import { DTYPE_BYTES, numel } from '../src/ir/dtype.ts';
import { describeAttrs, describeQuant, describeShape } from '../src/ir/dump.ts';
import type { Graph, Tensor } from '../src/ir/types.ts';
import { formatTable, thousands } from './table.ts';

const tensorJson = (t: Tensor, index: number) => ({
  index,
  name: t.name,
  shape: t.shape,
  dtype: t.dtype,
  constant: t.data !== undefined,
  ...(t.quant ? { quantization: t.quant } : {}),
});

export function inspectJson(graph: Graph) {
  const ops = graph.ops.map((op, index) => ({
    index,
    kind: op.kind,
    origin: op.origin,
    attrs: op.attrs,
    inputs: op.inputs.map((t) => tensorJson(graph.tensors[t], t)),
    outputs: op.outputs.map((t) => tensorJson(graph.tensors[t], t)),
    macs: opMacs(graph, op),
    paramBytes: opParamBytes(graph, op),
  }));
  return {
    model: graph.name,
    inputs: graph.inputs.map((t) => tensorJson(graph.tensors[t], t)),
    outputs: graph.outputs.map((t) => tensorJson(graph.tensors[t], t)),
    ops,
    totals: {
      ops: ops.length,
      macs: ops.reduce((s, o) => s + o.macs, 0),
      paramBytes: ops.reduce((s, o) => s + o.paramBytes, 0),
      largestActivationBytes: Math.max(
        0,
        ...graph.tensors.filter((t) => !t.data).map((t) => numel(t.shape) * DTYPE_BYTES[t.dtype]),
      ),
    },
  };
}

export function inspectText(graph: Graph): string {
  const json = inspectJson(graph);
  const rows = graph.ops.map((op, i) => {
    const out = graph.tensors[op.outputs[0]];
    const activations = op.inputs.filter((t) => !graph.tensors[t].data).map((t) => describeShape(graph.tensors[t].shape));
    return [
      String(i),
      op.kind,
      describeAttrs(op),
      activations.join(' '),
      describeShape(out.shape),
      out.dtype,
      describeQuant(out.quant),
      thousands(json.ops[i].macs),
      thousands(json.ops[i].paramBytes),
    ];
  });
  const table = formatTable(
    ['#', 'op', 'attributes', 'input', 'output', 'dtype', 'output quantization', 'MACs', 'param bytes'],
    rows,
    new Set([0, 7, 8]),
  );
  const io = (label: string, list: typeof json.inputs) =>
    list.map((t) => `${label} '${t.name}' ${describeShape(t.shape)} ${t.dtype} ${describeQuant(t.quantization)}`.trimEnd());
  const t = json.totals;
  return [
    `model ${graph.name}`,
    ...io('input ', json.inputs),
    ...io('output', json.outputs),
    '',
    table,
    '',
    `total: ${t.ops} ops, ${thousands(t.macs)} MACs, ${thousands(t.paramBytes)} parameter bytes, largest activation ${thousands(t.largestActivationBytes)} bytes`,
  ].join('\n');
}
