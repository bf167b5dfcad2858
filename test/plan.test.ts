import test from 'ava';
import { random, randomBelow } from './helpers/random.ts';
import type { Graph, Op, Tensor } from '../src/ir/types.ts';
import { computeLifetimes } from '../src/plan/lifetimes.ts';
import { checkPlacement } from '../src/plan/placement.ts';
import { planMemory } from '../src/plan/plan.ts';
import { liveCollisions } from './helpers/plan-check.ts';

const act = (n: number): Tensor => ({ name: `t${n}`, shape: [1, n], dtype: 'int8' });
const unary = (kind: 'relu' | 'logistic' | 'softmax' | 'reshape', input: number, output: number): Op =>
  kind === 'reshape'
    ? { kind, inputs: [input], outputs: [output], attrs: { shape: [-1] } }
    : kind === 'softmax'
      ? { kind, inputs: [input], outputs: [output], attrs: { beta: 1 } }
      : { kind, inputs: [input], outputs: [output], attrs: {} };
const add = (a: number, b: number, output: number): Op => ({ kind: 'add', inputs: [a, b], outputs: [output], attrs: { activation: 'none' } });

test('a chain needs two buffers, alternating', (t) => {
  const g: Graph = { name: 'chain', tensors: [act(100), act(100), act(100), act(100)], inputs: [0], outputs: [3], ops: [unary('softmax', 0, 1), unary('softmax', 1, 2), unary('softmax', 2, 3)] };
  const plan = planMemory(g);
  t.is(plan.arenaBytes, 200);
  t.not(plan.tensorOffset.get(0), plan.tensorOffset.get(1));
  t.is(plan.tensorOffset.get(0), plan.tensorOffset.get(2));
  t.deepEqual(plan.livePerOp, [200, 200, 200]);
});

test('element-wise ops run in place, reshapes alias, graph inputs are kept', (t) => {
  const g: Graph = {
    name: 'inplace',
    tensors: [act(64), act(64), act(64), act(64), act(64)],
    inputs: [0],
    outputs: [4],
    ops: [unary('softmax', 0, 1), unary('relu', 1, 2), unary('reshape', 2, 3), unary('logistic', 3, 4)],
  };
  const plan = planMemory(g);
  t.is(plan.arenaBytes, 128);
  t.deepEqual([...plan.inPlace.keys()], [1, 3]);
  t.is(plan.tensorOffset.get(2), plan.tensorOffset.get(1));
  t.is(plan.tensorOffset.get(3), plan.tensorOffset.get(1));
  const keepInput: Graph = { name: 'keep', tensors: [act(64), act(64)], inputs: [0], outputs: [1], ops: [unary('relu', 0, 1)] };
  t.is(planMemory(keepInput).inPlace.size, 0);
});

test('a tensor read later is not overwritten in place (residual)', (t) => {
  // t1 = softmax(t0); t2 = relu(t1); t3 = t1 + t2: relu must not overwrite t1.
  const g: Graph = { name: 'residual', tensors: [act(32), act(32), act(32), act(32)], inputs: [0], outputs: [3], ops: [unary('softmax', 0, 1), unary('relu', 1, 2), add(1, 2, 3)] };
  const plan = planMemory(g);
  t.false(plan.inPlace.has(1));
  t.true(plan.inPlace.has(2));
  t.not(plan.tensorOffset.get(1), plan.tensorOffset.get(2));
});

test('scratch buffers live only during their op', (t) => {
  const g: Graph = { name: 'scratch', tensors: [act(40), act(40), act(40)], inputs: [0], outputs: [2], ops: [unary('softmax', 0, 1), unary('softmax', 1, 2)] };
  const plan = planMemory(g, { scratchBytes: (_, i) => (i === 0 ? 24 : 0) });
  t.true(plan.scratchOffset.has(0));
  t.false(plan.scratchOffset.has(1));
  t.is(plan.arenaBytes, 104);
});

test('the overlap check catches a bad placement', (t) => {
  const g: Graph = { name: 'c', tensors: [act(10), act(10)], inputs: [0], outputs: [1], ops: [unary('softmax', 0, 1)] };
  const { buffers } = computeLifetimes(g);
  t.deepEqual(checkPlacement(buffers, [0, 12], 22), []);
  t.is(checkPlacement(buffers, [0, 5], 22).length, 1);
  t.is(checkPlacement(buffers, [0, 16], 22).length, 1);
});

test('random graphs always get valid plans no larger than the sum of buffers', (t) => {
  const next = random(12345);
  const rand = (n: number) => randomBelow(next, n);
  for (let trial = 0; trial < 300; trial++) {
    const tensors: Tensor[] = [act(1 + rand(50))];
    const ops: Op[] = [];
    const count = 1 + rand(12);
    for (let i = 0; i < count; i++) {
      const a = rand(tensors.length);
      const kinds = ['relu', 'softmax', 'reshape', 'add'] as const;
      const kind = kinds[rand(4)];
      const size = tensors[a].shape[1];
      if (kind === 'add') {
        const same = tensors.map((x, k) => [x, k] as const).filter(([x]) => x.shape[1] === size);
        tensors.push(act(size));
        ops.push(add(a, same[rand(same.length)][1], tensors.length - 1));
      } else {
        tensors.push(act(size));
        ops.push(unary(kind, a, tensors.length - 1));
      }
    }
    const g: Graph = { name: 'r', tensors, inputs: [0], outputs: [tensors.length - 1], ops };
    const plan = planMemory(g, { scratchBytes: () => rand(3) * 8 });
    t.deepEqual(checkPlacement(plan.buffers, plan.bufferOffsets, plan.arenaBytes), []);
    t.deepEqual(liveCollisions(plan, []), []);
    const total = plan.buffers.reduce((s, b) => s + Math.ceil(b.bytes / 4) * 4, 0);
    t.true(plan.arenaBytes <= total);
  }
});

test('the plan names the op whose live buffers reach the top of the arena, and what they hold', (t) => {
  // t0 -> softmax -> t1 (80) -> softmax -> t2 (40) -> softmax -> t3 (40), with scratch at op 1:
  // op 1 holds t1, t2 and its scratch, the most at any time.
  const g: Graph = {
    name: 'bound',
    tensors: [act(40), act(80), act(40), act(40)],
    inputs: [0],
    outputs: [3],
    ops: [unary('softmax', 0, 1), unary('softmax', 1, 2), unary('softmax', 2, 3)],
  };
  const plan = planMemory(g, { scratchBytes: (_, i) => (i === 1 ? 24 : 0) });
  t.is(plan.arenaBytes, 144);
  t.is(plan.bound.op, 1);
  const roles = plan.bound.buffers.map((b) => `${b.role}:${b.bytes}`).sort();
  t.deepEqual(roles, ['input:80', 'output:40', 'scratch:24']);
  const top = Math.max(...plan.bound.buffers.map((b) => b.offset + b.bytes));
  t.is(top, plan.arenaBytes);
});
