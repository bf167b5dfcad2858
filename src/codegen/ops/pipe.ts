// The code of a conv -> conv pipeline (src/plan/pipe.ts): per pass, the band's kept rows moved to
// their place, the producer's own kernel on its next rows into the band, the consumer's own kernel on
// the rows those windows allow, and (when the pipeline takes the add) the add's own kernel on them
// and the residual's, in place.

import type { Graph, Op } from '../../ir/types.ts';
import { pipePasses, type ConvPipe } from '../../plan/pipe.ts';
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
  /** C pointers: the producer's input, the band's buffer, the consumer's output (the buffer when the add takes it), the residual. */
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
  const passes = pipePasses(pipe);
  if (!passes) throw new Error(`op ${pipe.producer}: a buffer of ${pipe.bandRows} rows cannot hold op ${pipe.consumer}'s windows`);
  const [pType, pName] = paramsOf(producer, `op ${pipe.producer}`);
  const [cType, cName] = paramsOf(consumer, `op ${pipe.consumer}`);
  const p = pipe.producerRows;
  const c = pipe.consumerRows;
  const x = graph.tensors[graph.ops[pipe.producer].inputs[0]].shape;
  const inRow = x[2] * x[3];
  const row = pipe.rowBytes;
  const call = (kernel: string, args: (string | undefined)[]) => `${kernel}(${args.filter((a) => a !== undefined).join(', ')});`;
  // The rows each pass keeps, where they were and where they go: memmove only where those overlap.
  const moves = passes.slice(1).map((pass, i) => ({ from: passes[i].at + (pass.first - passes[i].first) * row, to: pass.at, bytes: (passes[i].end - pass.first) * row }));
  const kept = moves.some((m) => m.bytes > 0);
  const idle = passes.some((pass, i) => pass.end === (i === 0 ? 0 : passes[i - 1].end));
  const copy = moves.some((m) => m.bytes > 0 && Math.abs(m.from - m.to) < m.bytes) ? 'memmove' : 'memcpy';
  const addStep: string[] = [];
  if (pipe.add !== undefined) {
    const a = graph.ops[pipe.add];
    const [aType, aName] = paramsOf(parts.add!, `op ${pipe.add}`);
    const here = `${parts.residual} + y * ${pipe.outRowBytes}`;
    const [in1, in2] = a.inputs.map((t) => (t === pipe.residual ? here : parts.output));
    addStep.push(
      `        /* Op ${pipe.add}: those rows plus the residual's, over the residual's. */`,
      `        add_rows.dims[0] = (rows_end - y) * ${pipe.outRowBytes};`,
      `        ${parts.add!.kernel}(&${aName}, &add_rows, ${in1}, ${in2}, ${here});`,
    );
    if (aType !== 'ec_add_s8_params') throw new Error(`op ${pipe.add}: ${aType} is not the params of ec_add_s8`);
  }
  const produce = [
    `const int32_t from = end * ${p.stride} - ${p.pad};`,
    'const int32_t skip = from < 0 ? 0 : from;',
    'band.window.pad_top = skip - from;',
    `band.window.in_height = ${p.inRows} - skip;`,
    'band.window.out_height = next_end - end;',
    call(producer.kernel, ['&band', `${parts.input} + skip * ${inRow}`, `next_at + (end - next_first) * ${row}`, parts.producerScratch]),
  ];
  const producerStep = [
    `        /* Op ${pipe.producer}, rows end .. next_end - 1: the first one's window's first input row (negative: in the padding), the rows above it cut off. */`,
    ...(idle ? ['        if (next_end > end) {', ...produce.map((line) => `            ${line}`), '        }'] : produce.map((line) => `        ${line}`)),
  ];
  const out = pipe.add === undefined ? `${parts.output} + y * ${pipe.outRowBytes}` : parts.output;
  const ahead = pipe.add === undefined ? '' : `, writing its rows for op ${pipe.add} ahead of the band, over band rows no window reads any more`;
  return {
    kernel: `${producer.kernel} into a band, ${consumer.kernel} from it${pipe.add === undefined ? '' : `, ${parts.add!.kernel} over the residual`}, in ${passes.length} pass${passes.length === 1 ? '' : 'es'}`,
    declarations: [],
    statements: [
      '{',
      `    /* Op ${pipe.producer}'s rows go into a band in a buffer of ${pipe.bandRows * row} bytes; op ${pipe.consumer} reads its windows from the band${ahead}. */`,
      `    /* Per pass: op ${pipe.producer}'s rows in the band (first, end), the band's first byte in the buffer, op ${pipe.consumer}'s rows end. */`,
      `    static const int32_t passes[${passes.length}][4] = {${passes.map((s) => `{${s.first}, ${s.end}, ${s.at}, ${s.rowsEnd}}`).join(', ')}};`,
      `    ${pType} band = ${pName};`,
      `    ${cType} one = ${cName};`,
      ...(pipe.add === undefined ? [] : [`    ec_walk add_rows = ${parts.addWalk};`]),
      `    int32_t ${kept ? 'first = 0, ' : ''}end = 0, y = 0;`,
      ...(kept ? [`    const int8_t *at = ${parts.band};`] : []),
      `    for (int32_t k = 0; k < ${passes.length}; k++) {`,
      '        const int32_t next_first = passes[k][0], next_end = passes[k][1], rows_end = passes[k][3];',
      `        int8_t *const next_at = ${parts.band} + passes[k][2];`,
      ...(kept
        ? [
            '        /* The rows the band keeps, to its new place. */',
            `        ${copy}(next_at, at + (next_first - first) * ${row}, (size_t)(end - next_first) * ${row});`,
          ]
        : []),
      ...producerStep,
      `        /* Op ${pipe.consumer}, rows y .. rows_end - 1, from the band. */`,
      `        const int32_t top = y * ${c.stride} - ${c.pad};`,
      '        const int32_t lo = top < 0 ? 0 : top;',
      '        one.window.pad_top = lo - top;',
      '        one.window.in_height = next_end - lo;',
      '        one.window.out_height = rows_end - y;',
      `        ${call(consumer.kernel, ['&one', `next_at + (lo - next_first) * ${row}`, out, parts.consumerScratch])}`,
      ...addStep,
      ...(kept ? ['        first = next_first;'] : []),
      '        end = next_end;',
      ...(kept ? ['        at = next_at;'] : []),
      '        y = rows_end;',
      '    }',
      '}',
    ],
  };
}
