// The contract between the C file generator and the per-op emitters that pick and call kernels.

import type { Graph, Op } from '../ir/types.ts';
import type { MemoryPlan } from '../plan/plan.ts';
import type { CType } from './c-syntax.ts';

/** What the generated code may assume about the processor it runs on. */
export interface CodegenTarget {
  /** e.g. 'cortex-m4', or 'host' for the native and wasm builds. */
  cpu: string;
  /** The Cortex-M DSP extension (SMLAD, SXTB16, ...) is available: Cortex-M4, M7, M33 with DSP. */
  dsp: boolean;
}

export interface EmitContext {
  graph: Graph;
  plan: MemoryPlan;
  target: CodegenTarget;
  /** Identifier of this op's C objects, e.g. `op3`; prefix every name an emitter declares with it. */
  opName: string;
  /** C expression for a pointer to a tensor's data: into the arena for activations, a const array for constants. */
  pointer(tensor: number): string;
  /** Declares a const array in the weights file (flash) and returns its C name (`<opName>_<suffix>`). */
  constant(suffix: string, ctype: CType, values: ArrayLike<number>, comment?: string): string;
  /** C expression for a pointer to this op's scratch memory in the arena (only if it asked for scratch). */
  scratch(): string;
}

export interface OpCode {
  /** File-scope declarations in the model source: `static const` parameter structs and the like. */
  declarations: string[];
  /** The statements that run the op inside `<model>_invoke()`. */
  statements: string[];
  /** The kernel that runs it, for the per-op comment and the report. */
  kernel: string;
  /** For ops that keep state between invokes: the statements in `<model>_reset()` that clear it. */
  reset?: string[];
}

export interface OpEmitter {
  emit(ctx: EmitContext, op: Op): OpCode;
  /** Bytes of scratch memory the chosen kernel needs while the op runs. */
  scratchBytes(graph: Graph, op: Op, target: CodegenTarget): number;
  /** Input rows the chosen kernel holds in scratch before it writes an output row (see KernelNeeds.heldRows); 0 if omitted. */
  heldRows?(graph: Graph, op: Op, target: CodegenTarget): number;
  /** Bytes at the start of the chosen kernel's scratch it is done with before it writes its last output row (see KernelNeeds.scratchFreeForLastRow); 0 if omitted. */
  scratchFreeForLastRow?(graph: Graph, op: Op, target: CodegenTarget): number;
  /**
   * Whether `producer` can run a band of output rows at a time into the fully-connected `consumer`'s
   * accumulators (a RowFusion, src/plan/fusion.ts): its kernel takes an ec_window and computes the
   * rows that window describes, and the consumer is one ec_fully_connected_sum_s8 can sum.
   */
  rowBands?(graph: Graph, producer: Op, consumer: Op, target: CodegenTarget): boolean;
  /**
   * Whether the kernel chosen for op takes an ec_window and computes the output rows it describes,
   * from input rows anywhere (a conv -> conv pipeline, src/plan/pipe.ts, calls it row by row on a band).
   */
  windowRows?(graph: Graph, op: Op, target: CodegenTarget): boolean;
  /** Whether op's kernel runs on any run of whole rows of its same-shaped inputs (the add a pipeline takes). */
  addsRows?(graph: Graph, op: Op, target: CodegenTarget): boolean;
}
