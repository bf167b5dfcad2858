// MLPerf Tiny device-under-test firmware: the EEMBC serial protocol on the console UART.

import type { Graph } from '../ir/types.ts';
import type { SourceFile } from './firmware-sources.ts';

/** The benchmark's four networks; each takes its input bytes in its own form. */
export const MLPERF_MODELS = ['kws01', 'ic01', 'vww01', 'ad01'] as const;
export type MlperfModel = (typeof MLPERF_MODELS)[number];

/** The DUT's sources for a model (besides hil_model.c and hil_protocol.h). */
export function mlperfTinyFiles(graph: Graph, model: MlperfModel): SourceFile[] {
  throw new Error(`MLPerf Tiny DUT firmware for ${graph.name} (${model}) is not written yet`);
}
