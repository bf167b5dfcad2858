// A residual int8 network, quantized by edgec, through the whole back end: the memory plan's
// in-place ADD and long-lived skip tensor, and every target against the host reference.

import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import type { Graph } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { planMemory } from '../src/plan/plan.ts';
import { assertMatchesReference, GraphBuilder, random, uniform } from './helpers/op-graphs.ts';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';

const weights = (shape: number[], seed: number) => {
  const rand = random(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * 0.4);
};

/** input -> conv -> conv -> add(skip) -> relu -> conv stride 2 -> add(skip 2) -> mean -> fc -> softmax */
function residualNetwork(): Graph {
  const g = new GraphBuilder();
  const x = g.input([1, 10, 10, 3], 'float32', undefined, uniform(1));
  const conv = (input: number, inC: number, outC: number, size: number, stride: number, shape: number[], activation: string, seed: number) =>
    g.op('conv2d', { stride: [stride, stride], dilation: [1, 1], padding: 'same', activation },
      [input, g.constant([outC, size, size, inC], 'float32', weights([outC, size, size, inC], seed)), g.constant([outC], 'float32', weights([outC], seed + 1))],
      shape, 'float32', undefined, true);
  const a = conv(x, 3, 8, 3, 1, [1, 10, 10, 8], 'relu', 1);
  const b = conv(a, 8, 8, 3, 1, [1, 10, 10, 8], 'none', 3);
  const sum = g.op('add', { activation: 'relu' }, [a, b], [1, 10, 10, 8], 'float32', undefined, true);
  const c = conv(sum, 8, 8, 3, 2, [1, 5, 5, 8], 'relu6', 5);
  const d = conv(c, 8, 8, 1, 1, [1, 5, 5, 8], 'none', 7);
  const sum2 = g.op('add', { activation: 'none' }, [d, c], [1, 5, 5, 8], 'float32', undefined, true);
  const pooled = g.op('mean', { axes: [1, 2], keepDims: false }, [sum2], [1, 8], 'float32', undefined, true);
  const logits = g.op('fully_connected', { activation: 'none', keepNumDims: false },
    [pooled, g.constant([4, 8], 'float32', weights([4, 8], 9)), g.constant([4], 'float32', weights([4], 10))], [1, 4], 'float32', undefined, true);
  g.op('softmax', { beta: 1 }, [logits], [1, 4], 'float32');
  const graph = g.graph('residual');
  verifyGraph(graph);
  return graph;
}

/** The network quantized on seeded calibration data, and seeded int8 samples; made once for every test. */
const quantized = (async () => {
  const floatGraph = residualNetwork();
  const rand = random(42);
  const calibration = Float32Array.from({ length: 64 * 300 }, () => rand() * 2 - 1);
  const ranges = await recordRanges(floatGraph, { inputs: [calibration], count: 64 }, (g, inputs, keep) => runFloat(g, inputs, { keep }));
  const graph = quantizeGraph(floatGraph, ranges);
  const samples = Array.from({ length: 6 }, () => [Int8Array.from({ length: 300 }, () => Math.floor(rand() * 256) - 128)]);
  return { graph, samples };
})();

test('a quantized residual network runs an ADD whose input dies with it in place', async (t) => {
  const { graph } = await quantized;
  const plan = planMemory(graph);
  const adds = graph.ops.map((op, i) => [op.kind, i] as const).filter(([kind]) => kind === 'add').map(([, i]) => i);
  t.true(adds.some((i) => plan.inPlace.has(i)));
});

for (const target of ['host', 'wasm', 'qemu']) {
  testWhere([missingTool(...TARGET_TOOLS[target])], `a quantized residual network gives the reference bytes on ${target}${target === 'host' ? ' (sanitized)' : ''}`, async (t) => {
    const { graph, samples } = await quantized;
    const run = await runOnTarget(graph, target, samples, { sanitize: target === 'host' });
    assertMatchesReference(t, graph, samples, run.outputs);
  });
}
