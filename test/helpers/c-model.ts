// Test helpers: a graph through the real code generator, built and run on the host or in QEMU.

import type { Graph, TensorData } from '../../src/ir/types.ts';
import { runOnTarget } from '../../src/targets/run.ts';

/** The generated C compiled natively (-Wall -Wextra -Werror; ASan and UBSan with `sanitize`). */
export async function runGeneratedHost(graph: Graph, samples: TensorData[][], options: { sanitize?: boolean } = {}): Promise<TensorData[][]> {
  return (await runOnTarget(graph, 'host', samples, options)).outputs;
}

/** The same graph as a Cortex-M4 firmware (stm32f4) in QEMU: outputs and instructions per inference. */
export async function runGeneratedQemu(graph: Graph, samples: TensorData[][]): Promise<{ outputs: TensorData[][]; instructions: number[] }> {
  const { outputs, cycles } = await runOnTarget(graph, 'qemu', samples, { board: 'stm32f4' });
  return { outputs, instructions: cycles ?? [] };
}
