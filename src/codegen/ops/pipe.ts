// The code of a conv -> conv pipeline (src/plan/pipe.ts): the producer's own kernel called once per
// row of its output into the band, the consumer's own kernel once per output row on the band, and
// (when the pipeline takes the add) the add's own kernel on that row and the residual's, in place.

import type { Graph, Op } from '../../ir/types.ts';
import type { ConvPipe } from '../../plan/pipe.ts';
import type { EmitContext, OpCode } from '../emitter.ts';

/** Whether an add runs on any run of whole rows: int8 (ec_add_s8), both inputs of the output's shape. */
export function addsRows(graph: Graph, op: Op): boolean {
  const out = graph.tensors[op.outputs[0]];
  return op.kind === 'add' && out.dtype === 'int8' && op.inputs.every((t) => graph.tensors[t].dtype === 'int8' && graph.tensors[t].shape.join() === out.shape.join());
}

/** The name and type of the params struct an emitter declared first (`static const <type> <name> = ...`). */
function paramsOf(code: OpCode, what: string): [type: string, name: string] {
  const m = /^static const (\w+) (\w+) = /.exec(code.declarations[0] ?? '');
  if (!m || code.statements.length !== 1) throw new Error(`${what}: its kernel ${code.kernel} cannot run row by row`);
  return [m[1], m[2]];
}

export interface PipeParts {
  pipe: ConvPipe;
  /** The code each op's emitter wrote for the whole layer. */
  producer: OpCode;
  consumer: OpCode;
  add?: OpCode;
  /** C pointers: the producer's input, the band, the consumer's output (its row when the add takes it), the residual. */
  input: string;
  band: string;
  output: string;
  residual?: string;
  producerScratch?: string;
  consumerScratch?: string;
  /** The add's walk struct (one dimension: the inputs have the output's shape). */
  addWalk?: string;
}

/** The whole pipeline, run at its last op. */
export function pipelineCode(ctx: EmitContext, parts: PipeParts): OpCode {
  const { pipe, producer, consumer } = parts;
  const { graph } = ctx;
  const [pType, pName] = paramsOf(producer, `op ${pipe.producer}`);
  const [cType, cName] = paramsOf(consumer, `op ${pipe.consumer}`);
  const p = pipe.producerRows;
  const c = pipe.consumerRows;
  const x = graph.tensors[graph.ops[pipe.producer].inputs[0]].shape;
  const inRow = x[2] * x[3];
  const row = pipe.rowBytes;
  const call = (kernel: string, args: (string | undefined)[]) => `${kernel}(${args.filter((a) => a !== undefined).join(', ')});`;
  const addStep: string[] = [];
  if (pipe.add !== undefined) {
    const a = graph.ops[pipe.add];
    const [aType, aName] = paramsOf(parts.add!, `op ${pipe.add}`);
    const here = `${parts.residual} + y * ${pipe.outRowBytes}`;
    const [in1, in2] = a.inputs.map((t) => (t === pipe.residual ? here : parts.output));
    addStep.push(
      `        /* Op ${pipe.add}: this row plus the residual's, over the residual's row. */`,
      `        ${parts.add!.kernel}(&${aName}, &add_row, ${in1}, ${in2}, ${here});`,
    );
    if (aType !== 'ec_add_s8_params') throw new Error(`op ${pipe.add}: ${aType} is not the params of ec_add_s8`);
  }
  const out = pipe.add === undefined ? `${parts.output} + y * ${pipe.outRowBytes}` : parts.output;
  return {
    kernel: `${producer.kernel} into a band of ${pipe.bandRows} rows, ${consumer.kernel} row by row${pipe.add === undefined ? '' : `, ${parts.add!.kernel} over the residual`}`,
    declarations: [],
    statements: [
      '{',
      `    /* Op ${pipe.producer}'s rows go into a band of ${pipe.bandRows} (${pipe.bandRows * row} bytes), each as op ${pipe.consumer}'s next window needs it. */`,
      `    ${pType} band = ${pName};`,
      `    ${cType} one = ${cName};`,
      ...(pipe.add === undefined ? [] : [`    ec_walk add_row = ${parts.addWalk};`, `    add_row.dims[0] = ${pipe.outRowBytes};`]),
      '    band.window.out_height = 1;',
      '    one.window.out_height = 1;',
      '    /* The band holds op ' + pipe.producer + "'s rows first .. first + count - 1. */",
      '    int32_t first = 0, count = 0;',
      `    for (int32_t y = 0; y < ${c.outRows}; y++) {`,
      `        const int32_t top = y * ${c.stride} - ${c.pad};`,
      '        const int32_t lo = top < 0 ? 0 : top;',
      `        const int32_t hi = top + ${c.span} < ${c.inRows} ? top + ${c.span} : ${c.inRows};`,
      '        if (lo > first) {',
      '            /* Drop the rows above this window. */',
      '            const int32_t keep = first + count > lo ? first + count - lo : 0;',
      `            memmove(${parts.band}, ${parts.band} + (count - keep) * ${row}, (size_t)keep * ${row});`,
      '            first = lo;',
      '            count = keep;',
      '        }',
      '        for (; first + count < hi; count++) {',
      `            /* Op ${pipe.producer}, row first + count: its window's first input row (negative: in the padding), the rows above it cut off. */`,
      `            const int32_t from = (first + count) * ${p.stride} - ${p.pad};`,
      '            const int32_t skip = from < 0 ? 0 : from;',
      '            band.window.pad_top = skip - from;',
      `            band.window.in_height = ${p.inRows} - skip;`,
      `            ${call(producer.kernel, ['&band', `${parts.input} + skip * ${inRow}`, `${parts.band} + count * ${row}`, parts.producerScratch])}`,
      '        }',
      `        /* Op ${pipe.consumer}, row y, from the band. */`,
      '        one.window.pad_top = lo - top;',
      '        one.window.in_height = hi - lo;',
      `        ${call(consumer.kernel, ['&one', parts.band, out, parts.consumerScratch])}`,
      ...addStep,
      '    }',
      '}',
    ],
  };
}
