// Graph + memory plan -> the C sources of a model: `<name>.h` (public API and I/O macros),
// `<name>.c` (the arena and one kernel call per op) and `<name>_weights.c` (all constants, in flash).
// Output depends only on the inputs: the same graph gives byte-identical files.

import { opMacs } from '../ir/cost.ts';
import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import { describeAttrs, describeShape } from '../ir/dump.ts';
import type { FullyConnectedOp, Graph, Tensor, TensorData } from '../ir/types.ts';
import { rowFusionCandidates } from '../plan/fusion.ts';
import { convPipeCandidates } from '../plan/pipe.ts';
import { planMemory, type MemoryPlan } from '../plan/plan.ts';
import { cComment, cCommentText, cFloat, cIdent, cInitializer, cInt, thousands, type CType } from './c-syntax.ts';
import type { CodegenTarget, EmitContext, OpCode, OpEmitter } from './emitter.ts';
import { fusedConsumer, fusedProducer } from './ops/fused.ts';
import { pipelineCode } from './ops/pipe.ts';

export interface GeneratedModel {
  /** Prefix of every public C name. */
  prefix: string;
  files: Map<string, string>;
  plan: MemoryPlan;
  /** Bytes of constant data (weights, biases, requantization tables). */
  weightBytes: number;
  /** Per op: kernel chosen, MACs, arena bytes live. */
  ops: { index: number; kind: string; kernel: string; macs: number; liveBytes: number }[];
}

export interface GenerateOptions {
  target: CodegenTarget;
  emitter: OpEmitter;
  /** Public C prefix; defaults to the graph's name as an identifier. */
  prefix?: string;
  generator?: string;
  /**
   * A profiling build: the board's counter (board_cycles()) is read after every op into
   * `<prefix>_layer_cycles`, for edgec profile. Normal builds carry none of it.
   */
  profile?: boolean;
  /** Where the arena lives: by default a static array of the model's source. */
  arena?: ArenaPlacement;
}

export interface ArenaPlacement {
  /** Linker section of the arena (e.g. `.ccmram`, `.bss.dtcm`). */
  section?: string;
  /** The caller defines `<prefix>_arena` itself (the header says how); the model only declares it. */
  external?: boolean;
}

/** The arena's definition in the model source (the header declares it when the caller owns it). */
function arenaDeclaration(prefix: string, arena: ArenaPlacement): string {
  const size = `${prefix.toUpperCase()}_ARENA_BYTES`;
  if (arena.external) return `/* ${prefix}_arena[${size}] is the caller's (see ${prefix}.h). */`;
  const section = arena.section ? ` __attribute__((section(${JSON.stringify(arena.section)})))` : '';
  return `static int8_t ${prefix}_arena[${size}] __attribute__((aligned(16)))${section};`;
}

const CTYPE: Record<string, CType> = { int8: 'int8_t', uint8: 'uint8_t', int16: 'int16_t', int32: 'int32_t', float32: 'float' };

function ctypeOf(tensor: Tensor, where: string): CType {
  const ctype = CTYPE[tensor.dtype];
  if (!ctype) throw new Error(`${where}: tensor '${tensor.name}' of dtype ${tensor.dtype} has no C representation`);
  return ctype;
}

export function generateC(graph: Graph, options: GenerateOptions): GeneratedModel {
  const prefix = options.prefix ?? cIdent(graph.name);
  const { target, emitter } = options;
  const plan = planMemory(graph, {
    scratchBytes: (op) => emitter.scratchBytes(graph, op, target),
    heldRows: (op) => emitter.heldRows?.(graph, op, target) ?? 0,
    scratchFreeForLastRow: (op) => emitter.scratchFreeForLastRow?.(graph, op, target) ?? 0,
    fusions: rowFusionCandidates(graph, (producer, consumer) => emitter.rowBands?.(graph, producer, consumer, target) ?? false),
    pipes: convPipeCandidates(
      graph,
      (op) => emitter.windowRows?.(graph, op, target) ?? false,
      (op) => emitter.addsRows?.(graph, op, target) ?? false,
    ),
  });
  // Each op of a pipeline declares its params where it stands; the pipeline runs at its last op.
  const pipeOf = new Map(plan.pipes.flatMap((p) => [p.producer, p.consumer, ...(p.add === undefined ? [] : [p.add])].map((i) => [i, p] as const)));
  const pipeCode = new Map<number, OpCode>();
  const fusedProducers = new Map(plan.fusions.map((f) => [f.producer, f]));
  const fusedConsumers = new Set(plan.fusions.map((f) => f.consumer));
  const accumulators = (consumer: number) => `((int32_t *)&${prefix}_arena[${plan.accumulatorOffset.get(consumer)}])`;
  const weights: string[] = [];
  const weightNames = new Map<number, string>();
  let weightBytes = 0;

  const declareConstant = (name: string, ctype: CType, values: ArrayLike<number>, comment: string) => {
    const bytes = values.length * (ctype === 'int8_t' || ctype === 'uint8_t' ? 1 : ctype === 'int16_t' || ctype === 'uint16_t' ? 2 : ctype === 'int64_t' ? 8 : 4);
    weightBytes += bytes;
    weights.push(
      `/* ${cCommentText(comment)}, ${thousands(bytes)} bytes */\nconst ${ctype} ${name}[${values.length}] __attribute__((aligned(${ctype === 'int64_t' ? 8 : 4}))) = {\n${cInitializer(values, ctype)}\n};\n`,
    );
  };

  const pointer = (t: number, where: string): string => {
    const tensor = graph.tensors[t];
    const ctype = ctypeOf(tensor, where);
    if (tensor.data) {
      let name = weightNames.get(t);
      if (!name) {
        name = `${prefix}_t${t}_${cIdent(tensor.name).slice(0, 40)}`;
        weightNames.set(t, name);
        declareConstant(name, ctype, tensor.data as Exclude<TensorData, BigInt64Array>, `tensor ${t} '${tensor.name}' ${describeShape(tensor.shape)} ${tensor.dtype}`);
      }
      return name;
    }
    const offset = plan.tensorOffset.get(t);
    if (offset === undefined) throw new Error(`${where}: tensor ${t} '${tensor.name}' has no place in the arena`);
    return `((${ctype} *)&${prefix}_arena[${offset}])`;
  };

  const declarations: string[] = [];
  const resets: string[] = [];
  const body: string[] = [];
  const ops: GeneratedModel['ops'] = [];
  graph.ops.forEach((op, index) => {
    const where = `op ${index} (${op.kind})`;
    const opName = `${prefix}_op${index}`;
    const ctx: EmitContext = {
      graph,
      plan,
      target,
      opName,
      pointer: (t) => pointer(t, where),
      constant: (suffix, ctype, values, comment) => {
        const name = `${opName}_${suffix}`;
        declareConstant(name, ctype, values, comment ?? `op ${index} ${op.kind}: ${suffix}`);
        return name;
      },
      scratch: () => {
        // A pipeline's consumer runs in its producer's scratch (lifetimes.ts).
        const owner = pipeOf.get(index)?.consumer === index ? pipeOf.get(index)!.producer : index;
        const offset = plan.scratchOffset.get(owner);
        if (offset === undefined) throw new Error(`${where}: asked for scratch memory it did not reserve`);
        return `((void *)&${prefix}_arena[${offset}])`;
      },
    };
    const fusion = fusedProducers.get(index);
    const pipe = pipeOf.get(index);
    let code: OpCode;
    if (pipe) {
      const own = emitter.emit(ctx, op);
      pipeCode.set(index, own);
      const last = pipe.add ?? pipe.consumer;
      const producer = graph.ops[pipe.producer];
      const consumer = graph.ops[pipe.consumer];
      const scratchOf = (i: number) => (plan.scratchOffset.has(i) ? `((void *)&${prefix}_arena[${plan.scratchOffset.get(i)}])` : undefined);
      const whole =
        index === last
          ? pipelineCode(ctx, {
              pipe,
              producer: pipeCode.get(pipe.producer)!,
              consumer: pipeCode.get(pipe.consumer)!,
              add: pipe.add === undefined ? undefined : own,
              input: pointer(producer.inputs[0], where),
              band: pointer(producer.outputs[0], where),
              output: pointer(consumer.outputs[0], where),
              residual: pipe.residual === undefined ? undefined : pointer(pipe.residual, where),
              // One scratch buffer, the producer's, serves both kernels (lifetimes.ts).
              producerScratch: emitter.scratchBytes(graph, producer, target) > 0 ? scratchOf(pipe.producer) : undefined,
              consumerScratch: emitter.scratchBytes(graph, consumer, target) > 0 ? scratchOf(pipe.producer) : undefined,
              addWalk: `${opName}_walk`,
            })
          : undefined;
      code = {
        declarations: own.declarations,
        statements: whole?.statements ?? [`/* Runs row by row in op ${last}'s pipeline. */`],
        kernel: whole?.kernel ?? `${own.kernel}, in op ${last}'s pipeline`,
      };
    } else if (fusedConsumers.has(index)) {
      code = fusedConsumer(ctx, op as FullyConnectedOp, accumulators(index));
    } else if (fusion) {
      const scratch = plan.scratchOffset.has(index) ? ctx.scratch() : undefined;
      code = fusedProducer(ctx, op, fusion, emitter.emit(ctx, op), `${prefix}_op${fusion.consumer}`, accumulators(fusion.consumer), scratch);
    } else {
      code = emitter.emit(ctx, op);
    }
    const macs = opMacs(graph, op);
    ops.push({ index, kind: op.kind, kernel: code.kernel, macs, liveBytes: plan.livePerOp[index] });
    declarations.push(...code.declarations);
    resets.push(...(code.reset ?? []).map((s) => `    ${s}`));
    const mark = options.profile ? [`    ${prefix}_layer_done(${index});`] : [];
    body.push(cComment(opComment(graph, plan, index, code.kernel), '    '), ...code.statements.map((s) => `    ${s}`), ...mark, '');
  });

  const header = modelHeader(graph, plan, prefix, options.generator ?? 'edgec', options.profile === true, options.arena?.external === true);
  const source = [
    `/* ${cCommentText(graph.name)}: ${graph.ops.length} ops, ${thousands(ops.reduce((s, o) => s + o.macs, 0))} MACs per inference.`,
    ` * Generated by ${options.generator ?? 'edgec'}; regenerate rather than edit. */`,
    '#include <stdint.h>',
    '#include <string.h>',
    '#include "edgec_kernels.h"',
    `#include "${prefix}.h"`,
    '',
    cComment([
      `All activations in one arena, placed at compile time (${plan.strategy} placement;`,
      `${plan.tried.map((t) => `${t.strategy}: ${t.arenaBytes}`).join(', ')} bytes).`,
    ]),
    arenaDeclaration(prefix, options.arena ?? {}),
    '',
    ...weightExterns(weights),
    ...declarations,
    ...(declarations.length ? [''] : []),
    ...ioAccessors(graph, plan, prefix),
    ...(options.profile ? profileCounters(prefix, graph.ops.length) : []),
    `void ${prefix}_reset(void)`,
    '{',
    ...(resets.length ? resets : ['    /* No op of this model keeps state between invokes. */']),
    '}',
    '',
    `void ${prefix}_invoke(void)`,
    '{',
    ...(options.profile ? [`    ${prefix}_mark = board_cycles();`, ''] : []),
    ...body.slice(0, -1),
    '}',
    '',
  ].join('\n');
  const weightSource = [
    `/* Constants of ${cCommentText(graph.name)}: ${thousands(weightBytes)} bytes, placed in flash. Generated by ${options.generator ?? 'edgec'}. */`,
    '#include <stdint.h>',
    '',
    ...weights,
  ].join('\n');

  const files = new Map<string, string>([
    [`${prefix}.h`, header],
    [`${prefix}.c`, source],
    [`${prefix}_weights.c`, weightSource],
  ]);
  return { prefix, files, plan, weightBytes, ops };
}

/** A profiling build's counters: cycles of each op, read from the board between ops. */
function profileCounters(prefix: string, count: number): string[] {
  return [
    cComment(['Profiling build: the board counter after every op, so that edgec profile can show', 'where the cycles go. The reads themselves cost a few cycles each.']),
    'uint32_t board_cycles(void);',
    `uint32_t ${prefix}_layer_cycles[${count}];`,
    `static uint32_t ${prefix}_mark;`,
    '',
    `static inline void ${prefix}_layer_done(int op)`,
    '{',
    '    uint32_t now = board_cycles();',
    `    ${prefix}_layer_cycles[op] = now - ${prefix}_mark;`,
    `    ${prefix}_mark = now;`,
    '}',
    '',
  ];
}

/** `extern` declarations for the weight arrays, so the model source can name them. */
function weightExterns(weights: string[]): string[] {
  const externs = weights.map((w) => {
    const m = /^const (\w+) (\w+)\[(\d+)\]/m.exec(w);
    return m ? `extern const ${m[1]} ${m[2]}[${m[3]}];` : '';
  });
  return externs.length ? [...externs, ''] : [];
}

function opComment(graph: Graph, plan: MemoryPlan, index: number, kernel: string): string[] {
  const op = graph.ops[index];
  const place = (t: number) => {
    const tensor = graph.tensors[t];
    const offset = plan.tensorOffset.get(t);
    // A pipeline's band, or its consumer's rows ahead of the band in the same buffer.
    const band = plan.pipes.find((p) => graph.ops[p.producer].outputs[0] === t || (p.add !== undefined && graph.ops[p.consumer].outputs[0] === t));
    const bytes = band ? band.bandRows * band.rowBytes : numel(tensor.shape) * DTYPE_BYTES[tensor.dtype];
    const where = !band ? '' : graph.ops[band.producer].outputs[0] === t ? 'a band in ' : 'its rows ahead of the band in ';
    return `${describeShape(tensor.shape)} ${tensor.dtype}${offset === undefined ? ' (const)' : ` ${where}arena[${offset}..${offset + bytes})`}`;
  };
  const attrs = describeAttrs(op);
  const lines = [`op ${index}: ${op.kind}${attrs ? ` ${attrs}` : ''}${op.origin ? ` (${op.origin})` : ''} -> ${kernel}`];
  const fedBy = plan.fusions.find((f) => f.consumer === index);
  op.inputs
    .filter((t) => !graph.tensors[t].data)
    .forEach((t) => lines.push(fedBy ? `in  summed row by row while op ${fedBy.producer} ran` : `in  ${place(t)}`));
  const fusion = plan.fusions.find((f) => f.producer === index);
  const pipe = plan.pipes.find((p) => p.producer === index || (p.consumer === index && p.add !== undefined));
  if (pipe) {
    const at = plan.tensorOffset.get(op.outputs[0])!;
    const bytes = pipe.bandRows * pipe.rowBytes;
    lines.push(`out ${pipe.producer === index ? 'a band' : 'its rows ahead of the band'} in arena[${at}..${at + bytes})`);
  } else if (fusion) {
    const row = plan.tensorOffset.get(op.outputs[0])!;
    const acc = plan.accumulatorOffset.get(fusion.consumer)!;
    const end = row + fusion.bandRows * fusion.rowBytes;
    // The band's last row may lie over the scratch the kernel is done with by then (lifetimes.ts).
    const scratch = plan.scratchOffset.get(index);
    const over = scratch !== undefined && scratch >= row && scratch < end ? ', the last over the scratch' : '';
    lines.push(`out ${fusion.bandRows === 1 ? 'one row' : `${fusion.bandRows} rows`} at a time in arena[${row}..${end})${over}, summed into op ${fusion.consumer}'s accumulators at arena[${acc}..${acc + fusion.accumulatorBytes})`);
  } else {
    lines.push(`out ${place(op.outputs[0])}${plan.inPlace.has(index) ? ', in place' : ''}`);
  }
  const macs = opMacs(graph, op);
  if (macs) lines.push(`${thousands(macs)} MACs`);
  const scratch = plan.scratchOffset.get(index);
  if (scratch !== undefined) {
    const b = plan.buffers.find((x) => x.scratchOf === index)!;
    lines.push(`scratch arena[${scratch}..${scratch + b.bytes})`);
  }
  return lines;
}

function ioAccessors(graph: Graph, plan: MemoryPlan, prefix: string): string[] {
  const lines: string[] = [];
  for (const [kind, list] of [['input', graph.inputs], ['output', graph.outputs]] as const) {
    lines.push(`void *${prefix}_${kind}(int index)`, '{', '    switch (index) {');
    list.forEach((t, k) => lines.push(`    case ${k}: return &${prefix}_arena[${plan.tensorOffset.get(t)}];`));
    lines.push('    default: return 0;', '    }', '}', '');
  }
  return lines;
}

function modelHeader(graph: Graph, plan: MemoryPlan, prefix: string, generator: string, profile: boolean, externalArena: boolean): string {
  const P = prefix.toUpperCase();
  const guard = `${P}_H`;
  const io: string[] = [];
  for (const [kind, list] of [['INPUT', graph.inputs], ['OUTPUT', graph.outputs]] as const) {
    io.push(`#define ${P}_${kind}_COUNT ${list.length}`);
    list.forEach((t, k) => {
      const tensor = graph.tensors[t];
      io.push(`/* ${kind.toLowerCase()} ${k}: '${cCommentText(tensor.name)}' ${describeShape(tensor.shape)} ${tensor.dtype} */`);
      io.push(`#define ${P}_${kind}${k}_BYTES ${numel(tensor.shape) * DTYPE_BYTES[tensor.dtype]}`);
      if (tensor.quant) {
        io.push(`#define ${P}_${kind}${k}_SCALE ${cFloat(tensor.quant.scale[0])}`);
        io.push(`#define ${P}_${kind}${k}_ZERO_POINT ${cInt(tensor.quant.zeroPoint[0])}`);
      }
    });
  }
  return [
    `/* ${cCommentText(graph.name)}: public interface. Generated by ${generator}; regenerate rather than edit. */`,
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    '#include <stdint.h>',
    '',
    '#ifdef __cplusplus',
    'extern "C" {',
    '#endif',
    '',
    `/* Bytes of RAM for all activations (and kernel scratch), fixed at compile time. */`,
    `#define ${P}_ARENA_BYTES ${plan.arenaBytes}`,
    `/* Bytes of RAM for the state recurrent layers keep between invokes (outside the arena). */`,
    `#define ${P}_STATE_BYTES ${plan.stateBytes}`,
    '',
    ...(externalArena
      ? [
          `/* The arena is yours to place: define it once, in the RAM and section you choose, as`,
          ` *   int8_t ${prefix}_arena[${P}_ARENA_BYTES] __attribute__((aligned(16)));`,
          ` * Nothing else may use it while ${prefix}_invoke() runs. */`,
          `extern int8_t ${prefix}_arena[${P}_ARENA_BYTES];`,
          '',
        ]
      : []),
    ...io,
    '',
    `/* Where to write input \`index\` and read output \`index\` (both inside the arena). An inference`,
    ` * may overwrite its inputs: write them before every ${prefix}_invoke(). */`,
    `void *${prefix}_input(int index);`,
    `void *${prefix}_output(int index);`,
    '',
    `/* Runs one inference: reads the inputs, writes the outputs. No heap, no I/O. */`,
    `void ${prefix}_invoke(void);`,
    '',
    `/* Clears the state that recurrent layers carry from one invoke to the next (${P}_STATE_BYTES bytes in`,
    ` * static storage outside the arena), as before the first invoke: call it between independent sequences. */`,
    `void ${prefix}_reset(void);`,
    '',
    ...(profile
      ? [
          `/* Profiling build: cycles of op k of the last inference, by the board's counter. */`,
          `#define ${P}_PROFILED_LAYERS ${graph.ops.length}`,
          `extern uint32_t ${prefix}_layer_cycles[${graph.ops.length}];`,
          '',
        ]
      : []),
    '#ifdef __cplusplus',
    '}',
    '#endif',
    '',
    `#endif /* ${guard} */`,
    '',
  ].join('\n');
}
