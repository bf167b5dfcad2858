// `npm run bench`: per model, instructions per inference in QEMU, MACs per instruction, arena and
// flash bytes, each next to TensorFlow Lite Micro's figure for the same model (from the oracles'
// README: TFLM with CMSIS-NN kernels on a Cortex-M4 in QEMU) and the ratio ours / theirs; then the
// Fashion-MNIST variants; then post-training quantization on the MLPerf Tiny architectures
// (bench/quant.ts). `npm run bench -- <section> ...` runs only the sections named: tflm, variants, quant.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, thousands } from '../compiler/table.ts';
import { loadModel } from '../src/import/index.ts';
import { readNpy } from '../src/npy/npy.ts';
import { splitSamples } from '../src/samples.ts';
import { buildForBoard } from '../src/targets/build.ts';
import { runOnTarget } from '../src/targets/run.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { int8Samples, quantizedExample } from '../examples/fashion-mnist/evaluate.ts';
import { fashionVariants } from '../examples/fashion-mnist/variants.ts';
import { variantTable } from '../src/targets/variants.ts';
import { quantBench, quantReport } from './quant.ts';
import { MLPERF_NETWORKS, mlperfNetwork } from './mlperf-models.ts';
import { executeGraph } from '../src/ref/execute.ts';

const SECTIONS = ['tflm', 'variants', 'quant'];
const asked = process.argv.slice(2);
const unknown = asked.filter((s) => !SECTIONS.includes(s));
if (unknown.length > 0) {
  console.error(`unknown bench section(s) ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
  process.exit(2);
}
const wants = (section: string) => asked.length === 0 || asked.includes(section);

const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));
const BOARD = 'stm32f4';

/** TFLite Micro on a Cortex-M4 (shared/oracles/README.md): instructions with CMSIS-NN (reference kernels for the float model), smallest arena, .text. */
const TFLM: Record<string, { instructions: number; arena: number; text: number }> = {
  hello_world_int8: { instructions: 3520, arena: 1156, text: 32072 },
  hello_world_float: { instructions: 3708, arena: 1068, text: 20552 },
  micro_speech: { instructions: 1495360, arena: 6836, text: 58056 },
  person_detect: { instructions: 22928448, arena: 82316, text: 71304 },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ratio = (ours: number, theirs: number) => (ours / theirs).toFixed(3);

interface Case {
  name: string;
  graph: Graph;
  samples: TensorData[][];
  /** Where it runs, when not on BOARD. */
  board?: string;
  /** `textKnown: false`: TFLM's .text for this model was not measured; the smallest one stands in. */
  tflm?: { instructions: number; arena: number; text: number; textKnown?: boolean };
}

async function oracleCase(name: string): Promise<Case> {
  const dir = join(oracles, name);
  const graph = await loadModel(join(dir, 'model.tflite'));
  const samples = splitSamples(graph, [readNpy(readFileSync(join(dir, 'input.npy')))], ['input.npy']);
  return { name, graph, samples, tflm: TFLM[name] };
}

async function fashionCase(): Promise<Case> {
  const work = mkdtempSync(join(tmpdir(), 'edgec-bench-fashion-'));
  try {
    const { graph } = await quantizedExample(work);
    return { name: 'fashion-mnist (example)', graph, samples: int8Samples(graph, loadFashionMnist('test', { limit: 8 }).images, 8) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const dash = '—';
const rows: string[][] = [];
if (wants('tflm')) {
  const mlperfCase = async (name: string): Promise<Case> => ({ name, ...(await mlperfNetwork(name, 3)) });
  // TFLM's figures are for the Cortex-M4: the Cortex-M7 row has none to compare with.
  const m7Case = async (): Promise<Case> => ({ ...(await oracleCase('person_detect')), name: 'person_detect (M7: mps2-an500)', board: 'mps2-an500', tflm: undefined });
  const cases = [...Object.keys(TFLM).map((name) => () => oracleCase(name)), ...MLPERF_NETWORKS.map((name) => () => mlperfCase(name)), fashionCase, m7Case];
  for (const load of cases) {
    const { name, graph, samples, tflm, board = BOARD } = await load();
    const out = mkdtempSync(join(tmpdir(), 'edgec-bench-'));
    try {
      // Code is reported without the one blank sample the runner carries (flash.testData).
      const { report } = await buildForBoard(graph, board, out);
      const { cycles, outputs } = await runOnTarget(graph, 'qemu', samples, { board });
      const instructions = median(cycles ?? []);
      const exact = samples.filter((sample, i) => executeGraph(graph, sample).every((o, k) => Buffer.from(o.buffer, o.byteOffset, o.byteLength).equals(Buffer.from(outputs[i][k].buffer, outputs[i][k].byteOffset, outputs[i][k].byteLength)))).length;
      rows.push([
        name,
        thousands(report.macs),
        thousands(instructions),
        tflm ? ratio(instructions, tflm.instructions) : dash,
        (report.macs / instructions).toFixed(3),
        thousands(report.ram.arena),
        tflm ? ratio(report.ram.arena, tflm.arena) : dash,
        thousands(report.flash.code),
        tflm ? `${tflm.textKnown === false ? '<=' : ''}${ratio(report.flash.code, tflm.text)}` : dash,
        thousands(report.flash.weights),
        `${exact}/${samples.length}`,
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    process.stderr.write(`measured ${name}\n`);
  }

  console.log(`edgec on ${BOARD} (Cortex-M4, QEMU -icount: instructions; the M7 row on mps2-an500, in steps of 40) vs TensorFlow Lite Micro + CMSIS-NN on Cortex-M4 (ratios: edgec / TFLM, lower is better)\n`);
  console.log(
    formatTable(
      ['model', 'MACs', 'instructions', 'x TFLM', 'MACs/instr', 'arena B', 'x TFLM', 'code B', 'x TFLM', 'weights B', 'bit-exact'],
      rows,
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ),
  );
  console.log(
    '\nThe MLPerf Tiny networks have seeded random weights (same shapes as the trained ones); TFLM figures for them are for the trained models.' +
      "\n'<=' code ratios: TFLM's .text was not measured for that network; its smallest firmware's (32,072 B) stands in, so the true ratio is lower." +
      '\nbit-exact: QEMU outputs equal to the host int8 reference on the samples run.',
  );
}

// The variant table of issue 9's report: the example float, int8, pruned float and pruned int8.
if (wants('variants')) {
  const variantsWork = mkdtempSync(join(tmpdir(), 'edgec-bench-variants-'));
  try {
    const { variants } = await fashionVariants({ workDir: variantsWork, board: BOARD, log: (line) => process.stderr.write(`${line}\n`) });
    console.log(`\nFashion-MNIST variants on ${BOARD}: accuracy over the 10,000 test images, instructions in QEMU (ratios to float)\n`);
    console.log(variantTable(variants));
  } finally {
    rmSync(variantsWork, { recursive: true, force: true });
  }
}

// Issue 10: quantization quality of every post-training technique on the MLPerf Tiny architectures.
if (wants('quant')) {
  const result = await quantBench({ log: (line) => process.stderr.write(`${line}\n`) });
  console.log(`\n${quantReport(result)}`);
}
