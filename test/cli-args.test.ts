// The command-line parser (commander underneath): values, repeats, choices, optional values that
// never swallow a positional, `--` ending the options, --quiet, and usage errors that name the verb.

import test from 'ava';
import { COMMON_FLAGS, helpText, parseArgs, type VerbSpec } from '../compiler/args.ts';
import { EdgecError } from '../src/ir/errors.ts';

const SPEC: VerbSpec = {
  summary: 'a verb for the tests',
  usage: 'edgec try <model> [--input <x.npy> ...] [--target ref|qemu] [--hil [agent|mlperf-tiny]] [-o <dir>]',
  positionals: [1, 2],
  flags: {
    input: { value: true, repeat: true, help: 'samples' },
    target: { value: true, choices: ['ref', 'qemu'], help: 'where' },
    hil: { optionalValues: ['agent', 'mlperf-tiny'], help: 'agent' },
    o: { value: true, help: 'output folder' },
    dequantize: { help: 'a switch' },
  },
  examples: [['edgec try m.tflite --target qemu', 'runs it in QEMU']],
};

const parse = (...argv: string[]) => parseArgs('try', SPEC, argv);
const usage = (t: import('ava').ExecutionContext, argv: string[], message: RegExp) => {
  const e = t.throws(() => parse(...argv), { instanceOf: EdgecError });
  t.is(e?.kind, 'usage');
  t.regex(e?.message ?? '', message);
  t.regex(e?.message ?? '', /^edgec try: [^\n]+\nusage: edgec try <model>/);
};

test('values, repeats, switches and one-letter flags, in any order and in both spellings', (t) => {
  const a = parse('--input', 'a.npy', 'm.tflite', '--input=b.npy', '-o', 'out', '--dequantize', '--target=qemu');
  t.deepEqual(a.positionals, ['m.tflite']);
  t.deepEqual(a.values.get('input'), ['a.npy', 'b.npy']);
  t.deepEqual(a.values.get('o'), ['out']);
  t.deepEqual(a.values.get('target'), ['qemu']);
  t.deepEqual([...a.switches].sort(), ['dequantize']);
});

test('an optional value is taken only when it is one of its words; a positional after it stays a positional', (t) => {
  const bare = parse('--hil', 'm.tflite');
  t.true(bare.switches.has('hil'));
  t.is(bare.values.get('hil'), undefined);
  t.deepEqual(bare.positionals, ['m.tflite']);
  const valued = parse('m.tflite', '--hil', 'mlperf-tiny');
  t.deepEqual(valued.values.get('hil'), ['mlperf-tiny']);
  t.deepEqual(valued.positionals, ['m.tflite']);
  usage(t, ['m.tflite', '--hil=gpu'], /--hil takes agent or mlperf-tiny, not 'gpu'/);
});

test('-- ends the options: what follows is positional, even when it looks like a flag', (t) => {
  const a = parse('--dequantize', '--', '--weird-name.tflite');
  t.deepEqual(a.positionals, ['--weird-name.tflite']);
  t.true(a.switches.has('dequantize'));
});

test('the parser refuses unknown flags, bad choices, missing and repeated values and wrong argument counts', (t) => {
  usage(t, ['m.tflite', '--colour'], /unknown option '--colour'/);
  usage(t, ['m.tflite', '--target', 'gpu'], /option '--target <value>' argument 'gpu' is invalid\. choose one of ref, qemu/);
  usage(t, ['m.tflite', '--target'], /option '--target <value>' argument missing/);
  usage(t, ['m.tflite', '--input='], /it needs a value/);
  usage(t, ['m.tflite', '-o', 'a', '-o', 'b'], /-o given twice/);
  usage(t, [], /expected 1 to 2 argument\(s\), got 0/);
  usage(t, ['a', 'b', 'c'], /expected 1 to 2 argument\(s\), got 3/);
});

test('--quiet is every verb’s; help lists the flags with their choices, the examples and the exit codes', (t) => {
  t.true(parse('m.tflite', '--quiet').switches.has('quiet'));
  t.truthy(COMMON_FLAGS.quiet);
  const help = helpText(SPEC);
  t.regex(help, /--target <ref\|qemu>\s+where/);
  t.regex(help, /--hil \[agent\|mlperf-tiny\]/);
  t.regex(help, /examples:\n  edgec try m\.tflite --target qemu\n      runs it in QEMU/);
  t.regex(help, /exit codes: 0 success, 1 .*, 2 bad usage, 70 an internal error/);
});

test('a --no-x switch is given only when it is on the command line', (t) => {
  const spec: VerbSpec = { ...SPEC, flags: { ...SPEC.flags, 'no-verify': { help: 'skip the read-back' } } };
  t.false(parseArgs('try', spec, ['m.tflite']).switches.has('no-verify'));
  t.true(parseArgs('try', spec, ['m.tflite', '--no-verify']).switches.has('no-verify'));
});
