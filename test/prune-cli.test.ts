// `edgec prune` and `edgec build --prune` as a user runs them: the report, the file written, and
// the exit codes (0 done, 1 a problem with the model or data, 2 bad usage).

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fashionMnistNpy } from '../examples/fashion-mnist/data.ts';
import { importTflite } from '../src/import/tflite.ts';
import { writeNpy } from '../src/npy/npy.ts';
import { runEdgec } from './helpers/cli.ts';
import { fashionMnistIfPresent, missingFashionMnist, missingTool, testWhere } from './helpers/tools.ts';

const model = fileURLToPath(new URL('../examples/fashion-mnist/model/model.json', import.meta.url));
const int8Model = fileURLToPath(new URL('../../shared/oracles/hello_world_int8/model.tflite', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-prune-cli-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const files = (name: string, split: 'train' | 'test', limit: number) => {
  const { images, labels } = fashionMnistNpy(fashionMnistIfPresent(split, { limit }));
  const [x, y] = [join(scratch, `${name}_x.npy`), join(scratch, `${name}_y.npy`)];
  writeFileSync(x, images);
  writeFileSync(y, labels);
  return { x, y };
};
const train = files('train', 'train', 400);
const val = files('val', 'test', 200);
const shortLabels = join(scratch, 'short_y.npy');
writeFileSync(shortLabels, writeNpy({ dtype: 'int32', shape: [3], data: new Int32Array(3) }));

const run = runEdgec;

testWhere([missingFashionMnist()], 'edgec prune writes a smaller float .tflite and reports layers, budget and accuracy', async (t) => {
  const out = join(scratch, 'pruned.tflite');
  const r = await run('prune', model, '--data', train.x, '--labels', train.y, '--val-data', val.x, '--val-labels', val.y, '--macs', '0.5', '--criterion', 'l2', '--epochs', '1', '-o', out);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /criterion l2/);
  t.regex(r.stdout, /conv2d\s+conv3\s+32 -> \d+/);
  t.regex(r.stdout, /total\s+132,160 -> [\d,]+ \(0\.[0-4]\d*\)/);
  t.regex(r.stdout, /budget: MACs 132,160 -> [\d,]+, at most 66,080/);
  t.regex(r.stdout, /recovery: bias compensation and least-squares refit .*; distillation from the unpruned model with the labels: 1 epoch\(s\) over 400 samples/);
  t.regex(r.stdout, /output error \(.*\): after pruning \d\.\d+(e-\d+)?, after recovery/);
  t.regex(r.stdout, /accuracy on the 200 --val-data samples:\n  before pruning \d+\.\d\d%, after pruning \d+\.\d\d%, after recovery \d+\.\d\d%/);
  const graph = importTflite(readFileSync(out), 'pruned.tflite');
  t.true(graph.ops.every((op) => graph.tensors[op.outputs[0]].dtype === 'float32'));
  const conv3 = graph.tensors.find((x) => x.name.includes('conv3') && x.shape.length === 4 && !x.data)!;
  t.true(conv3.shape[3] < 32);
});

testWhere([missingFashionMnist()], 'edgec prune: the same --seed, data and flags write the same model (--json or not)', async (t) => {
  const outs = [join(scratch, 'seeded-a.tflite'), join(scratch, 'seeded-b.tflite')];
  const printed = [];
  for (const out of outs) {
    const r = await run('prune', model, '--data', train.x, '--labels', train.y, '--macs', '0.6', '--epochs', '1', '--seed', '7', '-o', out, ...(out === outs[1] ? ['--json'] : []));
    t.is(r.code, 0, r.stderr);
    printed.push(r.stdout);
  }
  t.true(readFileSync(outs[0]).equals(readFileSync(outs[1])));
  // --json: the same report, alone on stdout.
  const report = JSON.parse(printed[1]) as { wrote: string; budgets: { label: string; before: number; after: number }[]; layers: { name: string; macs: [number, number] }[] };
  t.is(report.wrote, outs[1]);
  const macs = report.budgets.find((b) => b.label === 'MACs')!;
  t.true(macs.after <= 0.6 * macs.before);
  t.is(report.layers.reduce((n, l) => n + l.macs[1], 0), macs.after);
  t.regex(printed[0], new RegExp(`budget: MACs [\\d,]+ -> ${macs.after.toLocaleString('en-US')},`));
});

testWhere([missingFashionMnist()], 'edgec prune: bad usage exits 2, with the smallest model for a budget out of reach', async (t) => {
  const base = ['prune', model, '--data', train.x];
  const cases: [string[], RegExp][] = [
    [[...base, '--macs', '0.5'], /-o <out.tflite> is required/],
    [[...base, '-o', join(scratch, 'x.tflite')], /give a budget/],
    [[...base, '--macs', '1.5', '-o', join(scratch, 'x.tflite')], /at most 1; the smallest model the channel groups allow .* has \d+ MACs/],
    [[...base, '--params', '0.001', '-o', join(scratch, 'x.tflite')], /out of reach/],
    [[...base, '--macs', '0.5', '--criterion', 'random', '-o', join(scratch, 'x.tflite')], /option '--criterion <value>' argument 'random' is invalid\. choose one of l1, l2/],
    [[...base, '--macs', '0.5', '--seed', '-3', '-o', join(scratch, 'x.tflite')], /--seed takes a whole number/],
    [['prune', model, '--macs', '0.5', '-o', join(scratch, 'x.tflite')], /needs --data/],
    [['prune', int8Model, '--data', train.x, '--macs', '0.5', '-o', join(scratch, 'x.tflite')], /already quantized/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
  }
});

testWhere([missingFashionMnist()], 'edgec prune: data that does not fit is exit 1', async (t) => {
  const out = join(scratch, 'x.tflite');
  const labels = await run('prune', model, '--data', train.x, '--labels', shortLabels, '--macs', '0.5', '-o', out);
  t.is(labels.code, 1);
  t.regex(labels.stderr, /not one label for each of the 400 samples/);
  const missing = await run('prune', model, '--data', join(scratch, 'absent.npy'), '--macs', '0.5', '-o', out);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /absent\.npy: cannot read/);
});

test('edgec build: prune flags without --prune, and --prune without --calib, are usage errors', async (t) => {
  const out = join(scratch, 'b');
  const stray = await run('build', model, '--board', 'stm32f4', '-o', out, '--data', train.x);
  t.is(stray.code, 2);
  t.regex(stray.stderr, /--data go with --prune/);
  const lowRank = await run('build', model, '--board', 'stm32f4', '-o', out, '--low-rank');
  t.is(lowRank.code, 2);
  t.regex(lowRank.stderr, /--low-rank go with --prune/);
  const noCalib = await run('build', model, '--board', 'stm32f4', '-o', out, '--prune', 'macs=0.5', '--data', train.x);
  t.is(noCalib.code, 2);
  t.regex(noCalib.stderr, /--prune goes with --calib/);
  const bad = await run('build', model, '--board', 'stm32f4', '-o', out, '--calib', train.x, '--prune', 'speed=2', '--data', train.x);
  t.is(bad.code, 2);
});

testWhere([missingTool('arm-none-eabi-gcc'), missingFashionMnist()], 'edgec build --prune flash=B prunes, quantizes and builds within the budget', async (t) => {
  const out = join(scratch, 'build');
  const r = await run('build', model, '--board', 'stm32f4', '-o', out, '--calib', train.x, '--prune', 'flash=30000', '--data', train.x, '--labels', train.y, '--epochs', '0');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /budget: flash bytes on stm32f4 \(int8 weights as generated for it \+ \d+ bytes of code, measured by building the unpruned model\) [\d,]+ -> [\d,]+, at most [\d,]+/);
  // Where the pruned model's kernels take more code than estimated it is pruned again ("took N bytes
  // more flash than ... pruned again"): either way the build meets the budget.
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  // The budget counts code and weights, as the build report gives them; the runner's blank sample is test data.
  t.true(report.flash.code + report.flash.weights <= 30000, `flash ${report.flash.code} + ${report.flash.weights}`);
  t.true(report.macs < 132160);
});
