// The `edgec` command. Exit codes: 0 success, 1 a problem with the user's model or data
// (or a missing tool), 2 bad usage.

import { readFileSync } from 'node:fs';
import { EdgecError } from '../src/ir/errors.ts';
import { loadModel } from '../src/import/index.ts';
import { helpText, parseArgs, type VerbSpec } from './args.ts';
import { inspectJson, inspectText } from './inspect.ts';
import { runCommand } from './run.ts';

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
    summary: 'Run every sample of the input (first axis = sample) through the model on the host reference.',
    usage: 'edgec run <model.tflite> --input <in.npy> [--input <in2.npy> ...] [--output <out.npy>]',
    positionals: [1, 1],
    flags: {
      input: { value: true, repeat: true, help: 'input samples as .npy, one file per model input' },
      output: { value: true, help: 'write the outputs here (.npy) instead of printing them' },
    },
    action: async (args) => {
      const inputs = args.values.get('input');
      if (!inputs) throw new EdgecError('usage', 'edgec run: --input <file.npy> is required\nusage: ' + VERBS.run.usage);
      const graph = await loadModel(args.positionals[0]);
      return runCommand(graph, inputs, args.values.get('output')?.[0]);
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
