// The `edgec` command. Exit codes: 0 success, 1 a problem with the user's model or data
// (or a missing tool), 2 bad usage.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { EdgecError, usageError } from '../src/ir/errors.ts';
import { loadModel } from '../src/import/index.ts';
import { readSampleFiles, splitSamples } from '../src/samples.ts';
import { TARGETS } from '../src/targets/names.ts';
import { helpText, parseArgs, type VerbSpec } from './args.ts';
import { inspectJson, inspectText } from './inspect.ts';

// Code generation and the toolchain load only for the verbs that use them, so `inspect` starts fast.

const VERBS: Record<string, VerbSpec & { action: (args: ReturnType<typeof parseArgs>) => Promise<string> }> = {
  inspect: {
    summary: 'Print every op of a model with its shapes, quantization, MACs and parameter bytes.',
    usage: 'edgec inspect <model.tflite> [--json]',
    positionals: [1, 1],
    flags: { json: { help: 'print JSON instead of a table' } },
    action: async (args) => {
      const graph = await loadModel(args.positionals[0]);
      return args.switches.has('json') ? JSON.stringify(inspectJson(graph), null, 2) : inspectText(graph);
    },
  },
  run: {
    summary: 'Run every sample of the input (first axis = sample) on the host reference, the generated C, or QEMU.',
    usage: 'edgec run <model.tflite | build-dir> --input <in.npy> [--input <in2.npy> ...] [--output <out.npy>] [--target ref|host|wasm|qemu] [--board <name>]',
    positionals: [1, 1],
    flags: {
      input: { value: true, repeat: true, help: 'input samples as .npy, one file per model input' },
      output: { value: true, help: 'write the outputs here (.npy) instead of printing them' },
      target: { value: true, help: `where to run: ${TARGETS.join(', ')} (default ref)` },
      board: { value: true, help: 'board whose QEMU machine runs --target qemu (default: the build\'s, or stm32f4)' },
    },
    action: async (args) => {
      const inputs = args.values.get('input');
      if (!inputs) throw usageError('edgec run: --input <file.npy> is required\nusage: ' + VERBS.run.usage);
      const target = args.values.get('target')?.[0] ?? 'ref';
      if (!TARGETS.includes(target)) throw usageError(`edgec run: unknown target '${target}': choose one of ${TARGETS.join(', ')}`);
      const { loadModelOrBuild } = await import('../src/targets/build.ts');
      const { runCommand } = await import('./run.ts');
      const { graph, board } = await loadModelOrBuild(args.positionals[0]);
      return runCommand({ graph, inputs, output: args.values.get('output')?.[0], target, board: args.values.get('board')?.[0] ?? board });
    },
  },
  build: {
    summary: 'Generate static C for a board, build the firmware, and report its flash and RAM use.',
    usage: 'edgec build <model.tflite> --board <name> -o <dir> [--input <samples.npy>]',
    positionals: [1, 1],
    flags: {
      board: { value: true, help: 'target board: stm32f4, mps2-an386, or any folder name under boards/' },
      o: { value: true, help: 'output folder for sources, Makefile, firmware and report.json' },
      output: { value: true, help: 'same as -o' },
      input: { value: true, help: 'samples to build into the firmware; it runs them and prints outputs and cycles' },
    },
    action: async (args) => {
      const board = args.values.get('board')?.[0];
      const outDir = args.values.get('o')?.[0] ?? args.values.get('output')?.[0];
      if (!board || !outDir) throw usageError('edgec build: --board <name> and -o <dir> are required\nusage: ' + VERBS.build.usage);
      const modelPath = args.positionals[0];
      const graph = await loadModel(modelPath);
      const inputs = args.values.get('input') ?? [];
      const samples = inputs.length ? splitSamples(graph, await readSampleFiles(inputs), inputs) : [];
      const { buildForBoard } = await import('../src/targets/build.ts');
      const { buildReportText } = await import('./build.ts');
      const result = await buildForBoard(graph, await readFile(modelPath), board, outDir, samples);
      return buildReportText(result.report, outDir);
    },
  },
};

function overview(): string {
  const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  return [
    `edgec ${version}: a model compiler for microcontrollers`,
    '',
    'usage: edgec <command> [options]   (edgec <command> --help for its options)',
    '',
    ...Object.entries(VERBS).map(([name, v]) => `  ${name.padEnd(10)}${v.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(overview() + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb === '--version') {
    process.stdout.write(overview().split(':')[0] + '\n');
    return 0;
  }
  const spec = VERBS[verb];
  if (!spec) {
    process.stderr.write(`edgec: unknown command '${verb}'\n\n${overview()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(spec) + '\n');
    return 0;
  }
  const output = await spec.action(parseArgs(verb, spec, rest));
  if (output) process.stdout.write(output + '\n');
  return 0;
}

function report(error: unknown): number {
  if (error instanceof EdgecError) {
    process.stderr.write(`edgec: error: ${error.message}\n`);
    for (const line of error.details) process.stderr.write(`  ${line}\n`);
    return error.kind === 'usage' ? 2 : 1;
  }
  // Anything else is a bug in edgec, not in the user's input: say so, with the trace to report.
  process.stderr.write(`edgec: internal error (please report it): ${error instanceof Error ? error.stack : String(error)}\n`);
  return 70;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => (process.exitCode = report(error)),
);
