// The `edgec` command. Exit codes: 0 success, 1 a problem with the user's model or data
// (or a missing tool), 2 bad usage.

import { EdgecError, modelError, usageError } from '../src/ir/errors.ts';
import { loadModel } from '../src/import/index.ts';
import { readSampleFiles, splitSamples } from '../src/samples.ts';
import { TARGETS } from '../src/targets/names.ts';
import { MLPERF_MODELS, type MlperfModel } from '../src/device/mlperf-tiny.ts';
import { BOARD_DIR_FLAG, helpText, JSON_FLAG, parseArgs, type VerbSpec } from './args.ts';
import { silenceProgress } from './progress.ts';
import { CALIB_FLAGS, quantizeRequest } from './calib-flags.ts';
import { inspectJson, inspectText } from './inspect.ts';
import { PRUNE_BUDGET_FLAGS, PRUNE_DATA_FLAGS } from './prune.ts';
import type { Graph } from '../src/ir/types.ts';
import type { BuildOptions } from '../src/targets/build.ts';
import { reportQuantization } from '../src/targets/report-facts.ts';
import { edgecVersion } from '../src/version.ts';

const HIL_AGENTS = ['agent', 'mlperf-tiny'] as const;

// Code generation and the toolchain load only for the verbs that use them, so `inspect` starts fast.

/**
 * What a verb prints: its text, the same results as JSON for --json (verbs with results), and its
 * exit code when that is not 0 although nothing went wrong (a HIL mismatch).
 */
type VerbResult = string | { output: string; json?: unknown; exitCode?: number };

/** --json <file> on hil and profile: the report into a file (beside the table) or, without a file, on stdout. */
const JSON_FILE_FLAG = { optionalFile: '.json', help: 'print the report as JSON on stdout instead of the table, or with a file name ending in .json, write it there too' };

const VERBS: Record<string, VerbSpec & { action: (args: ReturnType<typeof parseArgs>) => Promise<VerbResult> }> = {
  inspect: {
    summary: 'Print every op of a model with its shapes, quantization, MACs and parameter bytes.',
    usage: 'edgec inspect <model.tflite> [--json]',
    positionals: [1, 1],
    examples: [
      ['edgec inspect model.tflite', 'every op with shapes, quantization, MACs and parameter bytes'],
      ['edgec inspect model.tflite --json', 'the same as JSON'],
    ],
    flags: { json: JSON_FLAG },
    action: async (args) => {
      const graph = await loadModel(args.positionals[0]);
      return { output: inspectText(graph), json: inspectJson(graph) };
    },
  },
  run: {
    summary: 'Run every sample of the input (first axis = sample) on the host reference, the generated C, or QEMU.',
    usage:
      'edgec run <model | build-dir> --input <in.npy> [--input <in2.npy> ...] [--output <out.npy>] [--target ref|host|wasm|qemu] [--board <name>] [--dequantize] [--stateful]',
    positionals: [1, 1],
    examples: [
      ['edgec run model.tflite --input x.npy', 'outputs of the host reference, printed'],
      ['edgec run build/ --input x.npy --target qemu --output y.npy', 'the built firmware in QEMU, outputs to y.npy, instructions per inference'],
    ],
    flags: {
      input: { value: true, repeat: true, help: 'input samples as .npy, one file per model input (float32 is quantized for an int8 model)' },
      output: { value: true, help: 'write the outputs here (.npy) instead of printing them' },
      target: { value: true, choices: TARGETS, help: `where to run: ${TARGETS.join(', ')} (default ref)` },
      board: { value: true, help: "board whose QEMU machine runs --target qemu (default: the build's, or stm32f4)" },
      'board-dir': BOARD_DIR_FLAG,
      dequantize: { help: 'give int8 (or uint8) outputs as float32, with the output scale and zero point' },
      stateful: { help: "carry recurrent (LSTM) state from one sample to the next, as one stream's frames (default: each sample starts from cleared state)" },
      json: JSON_FLAG,
    },
    action: async (args) => {
      const inputs = args.values.get('input');
      if (!inputs) throw usageError('edgec run: --input <file.npy> is required\nusage: ' + VERBS.run.usage);
      const target = args.values.get('target')?.[0] ?? 'ref';
      const { loadModelOrBuild } = await import('../src/targets/build.ts');
      const { runCommand } = await import('./run.ts');
      const { graph, board } = await loadModelOrBuild(args.positionals[0]);
      return runCommand({
        graph,
        inputs,
        output: args.values.get('output')?.[0],
        target,
        board: args.values.get('board')?.[0] ?? board,
        dequantize: args.switches.has('dequantize'),
        stateful: args.switches.has('stateful'),
      });
    },
  },
  quantize: {
    summary: 'Quantize a float model to full int8, calibrated on your data, and write a standard int8 .tflite.',
    usage: 'edgec quantize <model.tflite | model.json> --calib <data> -o <model_int8.tflite> [--requantize] [calibration options]',
    positionals: [1, 1],
    examples: [
      ['edgec quantize model.tflite --calib calib.npy -o model_int8.tflite', 'full int8, with the per-layer error report'],
      ['edgec quantize model.json --calib images/ --scale 0.00392157 -o m.tflite', 'a TF.js model calibrated on a folder of PNGs'],
    ],
    flags: {
      ...CALIB_FLAGS,
      o: { value: true, help: 'the int8 .tflite file to write' },
      output: { value: true, help: 'same as -o' },
      json: JSON_FLAG,
    },
    action: async (args) => {
      const out = args.values.get('o')?.[0] ?? args.values.get('output')?.[0];
      const request = quantizeRequest('quantize', args);
      if (!request || !out) throw usageError('edgec quantize: --calib <data> and -o <file.tflite> are required\nusage: ' + VERBS.quantize.usage);
      const { prepareModel } = await import('../src/pipeline.ts');
      const { writeModelFile } = await import('../src/targets/build.ts');
      const { layerReportJson, layerReportText } = await import('./quantize.ts');
      const { quantized } = await prepareModel(args.positionals[0], request);
      await writeModelFile(quantized!.graph, out);
      return { output: `${layerReportText(quantized!)}\n\nwrote ${out}`, json: { ...layerReportJson(quantized!), wrote: out } };
    },
  },
  prune: {
    summary: 'Remove channels to a budget (MACs, parameters, flash or RAM), recover accuracy on your data (refit, distillation), and write a smaller float .tflite.',
    usage:
      'edgec prune <model> --data <x.npy> [--labels <y.npy>] (--macs R | --params R | --flash B | --ram B) [--board <name>] [--epochs N] [--time-limit S] [--criterion l1|l2|bn|activation|taylor] [--low-rank] [--val-data <x.npy> --val-labels <y.npy>] -o <out.tflite>',
    positionals: [1, 1],
    examples: [
      ['edgec prune model.tflite --data x.npy --labels y.npy --macs 0.5 -o small.tflite', 'half the MACs, recovered by distillation'],
    ],
    flags: {
      ...PRUNE_DATA_FLAGS,
      ...PRUNE_BUDGET_FLAGS,
      board: { value: true, help: 'the board --flash and --ram are measured on (default stm32f4)' },
      'board-dir': BOARD_DIR_FLAG,
      o: { value: true, help: 'the pruned float .tflite file to write' },
      output: { value: true, help: 'same as -o' },
      json: JSON_FLAG,
    },
    action: async (args) => {
      const out = args.values.get('o')?.[0] ?? args.values.get('output')?.[0];
      if (!out) throw usageError('edgec prune: -o <out.tflite> is required\nusage: ' + VERBS.prune.usage);
      const { budgetsFrom, loadFloatModel, pruneReportJson, pruneReportText, pruneRequest, runPrune } = await import('./prune.ts');
      const budgets = budgetsFrom(args);
      if (budgets.length === 0) throw usageError('edgec prune: give a budget: --macs R, --params R, --flash B or --ram B\nusage: ' + VERBS.prune.usage);
      const { writeModelFile } = await import('../src/targets/build.ts');
      const loaded = await loadFloatModel(args.positionals[0]);
      const request = await pruneRequest('prune', args, loaded.graph, budgets);
      const result = await runPrune({ model: args.positionals[0], ...request }, loaded);
      await writeModelFile(result.graph, out);
      return { output: `${await pruneReportText(result)}\n\nwrote ${out}`, json: { ...(await pruneReportJson(result)), wrote: out } };
    },
  },
  emulate: {
    summary: "Boot a build in its board's QEMU machine with the console UART on a pseudo-terminal, until Ctrl-C.",
    usage: 'edgec emulate <build-dir> [--pty <link>]',
    positionals: [1, 1],
    examples: [
      ['edgec emulate build/ --pty /tmp/board', 'the build in QEMU, its UART at /tmp/board for any serial client'],
    ],
    flags: {
      pty: { value: true, help: 'also make this path a symbolic link to the pty (removed when emulation stops)' },
    },
    action: async (args) => {
      const { emulateCommand } = await import('./emulate.ts');
      return emulateCommand(args.positionals[0], args.values.get('pty')?.[0], (line) => process.stdout.write(line + '\n'));
    },
  },
  build: {
    summary: 'Generate static C for a board, build the firmware, and report its flash and RAM use.',
    usage:
      'edgec build <model> --board <name> -o <dir> [--calib <data> ...] [--prune <budget> --data <x.npy> [--labels <y.npy>] ...] [--input <samples.npy> | --hil [agent|mlperf-tiny] [--mlperf-model kws01|ic01|vww01|ad01] | --profile | --format library [--arena-section <name> | --arena-extern]]',
    positionals: [1, 1],
    examples: [
      ['edgec build model.tflite --board stm32f4 -o build/', 'firmware, report.json and report.html'],
      ['edgec build model.tflite --board stm32f4 --calib calib.npy --hil -o build/', 'quantized, with the HIL agent for edgec hil'],
      ['edgec build model.tflite --board-dir my-boards/ --board my-f7 -o build/', 'for your own board, defined outside edgec (docs/boards.md)'],
      ['edgec build model.tflite --board stm32f4 --format library --arena-section .ccmram -o lib/', 'the model for your own firmware (CMake, PlatformIO, Arduino, Make)'],
    ],
    flags: {
      board: { value: true, help: 'target board: stm32f4, mps2-an386, mps2-an500 (Cortex-M7), nucleo-f767zi (STM32F7, build only), nrf52840-dk (build only), or a board of --board-dir' },
      'board-dir': BOARD_DIR_FLAG,
      o: { value: true, help: 'output folder for sources, Makefile, firmware and report.json' },
      output: { value: true, help: 'same as -o' },
      input: { value: true, help: 'samples to build into the firmware; it runs them and prints outputs and cycles' },
      hil: {
        optionalValues: HIL_AGENTS,
        help: 'link a HIL agent instead of the sample runner: agent (default; for edgec hil and edgec run) or mlperf-tiny (the MLPerf Tiny DUT protocol)',
      },
      'mlperf-model': { value: true, choices: MLPERF_MODELS, help: `with --hil mlperf-tiny, how the DUT takes its input bytes: ${MLPERF_MODELS.join(', ')} (default kws01)` },
      profile: { help: 'a profiling build for edgec profile: the HIL agent, with the cycle counter read after every op' },
      format: { value: true, choices: ['firmware', 'library'], help: "firmware (default: a folder that builds a firmware for the board) or library (the model and its kernels for your own firmware: CMake, PlatformIO, Arduino, Make)" },
      'arena-section': { value: true, help: 'with --format library: the linker section of the arena, e.g. .ccmram' },
      'arena-extern': { help: 'with --format library: your code defines the arena (the header says how)' },
      json: JSON_FLAG,
      ...CALIB_FLAGS,
      prune: { value: true, help: 'prune to a budget before quantizing: macs=R, params=R, flash=B or ram=B (B bytes on --board), comma-separated for several' },
      ...PRUNE_DATA_FLAGS,
    },
    action: async (args) => {
      const board = args.values.get('board')?.[0];
      const outDir = args.values.get('o')?.[0] ?? args.values.get('output')?.[0];
      if (!board || !outDir) throw usageError('edgec build: --board <name> and -o <dir> are required\nusage: ' + VERBS.build.usage);
      const { isFloatGraph } = await import('../src/pipeline.ts');
      const { buildForBoard } = await import('../src/targets/build.ts');
      const { buildReportText } = await import('./build.ts');
      const format = args.values.get('format')?.[0] ?? 'firmware';
      const arenaSection = args.values.get('arena-section')?.[0];
      const arenaExtern = args.switches.has('arena-extern');
      if (format === 'firmware' && (arenaSection !== undefined || arenaExtern)) {
        throw usageError('edgec build: --arena-section and --arena-extern place the arena of a library in your firmware: give --format library');
      }
      if (arenaSection !== undefined && arenaExtern) throw usageError('edgec build: --arena-extern leaves the arena to your code, section and all: drop --arena-section');
      if (format === 'library') {
        const stray = ['input', 'hil', 'mlperf-model', 'profile'].filter((f) => args.values.has(f) || args.switches.has(f));
        if (stray.length > 0) throw usageError(`edgec build: ${stray.map((f) => `--${f}`).join(', ')} make a firmware; --format library makes none`);
      }
      const { graph, pruned, quantization } = await preparePruned(args, board);
      if (format === 'library') {
        const { buildLibrary } = await import('../src/targets/build.ts');
        const { libraryReportText } = await import('./build.ts');
        const result = await buildLibrary(graph, board, outDir, { arena: { section: arenaSection, external: arenaExtern }, quantization });
        return {
          output: (pruned ? pruned.text + '\n\n' : '') + libraryReportText(result.report, outDir),
          json: { ...result.report, folder: outDir, ...(pruned && { pruned: pruned.json }) },
        };
      }
      const inputs = args.values.get('input') ?? [];
      const profile = args.switches.has('profile');
      const hil = args.switches.has('hil') ? (args.values.get('hil')?.[0] ?? 'agent') : profile ? 'agent' : undefined;
      if (profile && hil !== 'agent') throw usageError('edgec build: --profile builds the HIL agent (it reports the cycles per op over the HIL protocol), not --hil mlperf-tiny');
      const mlperfModel = args.values.get('mlperf-model')?.[0];
      if (hil && inputs.length) throw usageError('edgec build: --input builds samples into the firmware, --hil streams them over the UART: give one of them');
      if (mlperfModel !== undefined && hil !== 'mlperf-tiny') throw usageError('edgec build: --mlperf-model goes with --hil mlperf-tiny');
      const samples = inputs.length ? splitSamples(graph, await readSampleFiles(inputs), inputs) : [];
      const firmware = hil === undefined ? 'samples' : hil === 'agent' ? 'hil' : 'mlperf-tiny';
      const result = await buildForBoard(graph, board, outDir, {
        samples,
        firmware,
        mlperfModel: mlperfModel as MlperfModel | undefined,
        profile,
        quantization,
      });
      const float = isFloatGraph(graph);
      const note = float ? '\nnote: the model is float32 and no --calib was given, so it runs float kernels; give --calib <data> to quantize it to int8' : '';
      return {
        output: (pruned ? pruned.text + '\n\n' : '') + buildReportText(result.report, outDir) + note,
        json: { ...result.report, folder: outDir, float, ...(pruned && { pruned: pruned.json }) },
      };
    },
  },
  hil: {
    summary: 'Stream a test set to a HIL build on the board or in QEMU: accuracy, bit-exactness with the host, cycles.',
    usage: 'edgec hil <build-dir> (--qemu | --port <path> [--baud N]) --data <x.npy> [--labels <y.npy>] [--json <file>] [--junit <file>]',
    positionals: [1, 1],
    examples: [
      ['edgec hil build/ --qemu --data x.npy --labels y.npy', 'accuracy and bit-exactness in QEMU'],
      ['edgec hil build/ --port /dev/ttyUSB0 --data x.npy --junit hil.xml', 'on a board, with a JUnit report'],
    ],
    flags: {
      qemu: { help: "boot the build in its board's QEMU machine" },
      'board-dir': BOARD_DIR_FLAG,
      port: { value: true, help: 'the serial port of a board running the build (flash it first: edgec flash)' },
      baud: { value: true, help: "the console's baud rate (default: the board's, 115200 for stm32f4)" },
      data: { value: true, repeat: true, help: 'test samples as .npy, first axis = sample, one file per model input (float32 is quantized)' },
      labels: { value: true, help: 'class index per sample (.npy of integers): accuracy is reported against them' },
      json: JSON_FILE_FLAG,
      junit: { value: true, help: 'write JUnit XML here: one testcase per sample, failed where board and host differ' },
    },
    action: async (args) => {
      const port = args.values.get('port')?.[0];
      const qemu = args.switches.has('qemu');
      const data = args.values.get('data');
      if (qemu === (port !== undefined)) throw usageError('edgec hil: give one of --qemu or --port <path>\nusage: ' + VERBS.hil.usage);
      if (!data) throw usageError('edgec hil: --data <x.npy> is required\nusage: ' + VERBS.hil.usage);
      const baud = baudOf('hil', args);
      const { hilCommand } = await import('./hil.ts');
      return hilCommand({
        buildDir: args.positionals[0],
        qemu,
        port,
        baud,
        data,
        labels: args.values.get('labels')?.[0],
        json: args.values.get('json')?.[0],
        junit: args.values.get('junit')?.[0],
      });
    },
  },
  profile: {
    summary: 'Cycles per op of a build on the board or in QEMU (instructions there), MACs per cycle, share, and the kernel each op uses.',
    usage: 'edgec profile <build-dir> (--qemu | --port <path> [--baud N]) [--data <x.npy>] [--json <file>] [--html <file>]',
    positionals: [1, 1],
    examples: [
      ['edgec profile build/ --qemu --html profile.html', 'instructions per op in QEMU, and the report page with them'],
    ],
    flags: {
      qemu: { help: "run in the board's QEMU machine (a build that is not a profiling build is rebuilt as one, aside)" },
      'board-dir': BOARD_DIR_FLAG,
      port: { value: true, help: 'the serial port of a board running a profiling build (edgec build --profile, then edgec flash)' },
      baud: { value: true, help: "the console's baud rate (default: the board's)" },
      data: { value: true, repeat: true, help: 'samples to run, .npy, first axis = sample (default: one seeded random sample); each op shows its median' },
      json: JSON_FILE_FLAG,
      html: { value: true, help: "write the build's report page here with each layer's instructions (cycles) added" },
    },
    action: async (args) => {
      const port = args.values.get('port')?.[0];
      const qemu = args.switches.has('qemu');
      if (qemu === (port !== undefined)) throw usageError('edgec profile: give one of --qemu or --port <path>\nusage: ' + VERBS.profile.usage);
      const baud = baudOf('profile', args);
      const { profileCommand } = await import('./profile.ts');
      return profileCommand({ buildDir: args.positionals[0], qemu, port, baud, data: args.values.get('data'), json: args.values.get('json')?.[0], html: args.values.get('html')?.[0] });
    },
  },
  boards: {
    summary: 'List the boards edgec builds for: CPU, clock, flash, RAM, and the QEMU machine that stands in for each.',
    usage: 'edgec boards [--json]',
    positionals: [0, 0],
    examples: [
      ['edgec boards', 'the boards, their CPUs and memories'],
      ['edgec boards --board-dir my-boards/', 'with your own boards (my-boards/<name>/board.json, see docs/boards.md)'],
    ],
    flags: { json: JSON_FLAG, 'board-dir': BOARD_DIR_FLAG },
    action: async () => {
      const { boardsJson, boardsText } = await import('./boards.ts');
      return { output: boardsText(), json: boardsJson() };
    },
  },
  flash: {
    summary: 'Write firmware to an STM32 through its ROM bootloader over a serial port (BOOT0 high, then reset), read it back, start it.',
    usage:
      'edgec flash <build-dir | image.bin | image.elf> --port <path> [--baud 115200] [--parity even|none] [--board <name>] [--no-verify] [--no-go] [--unprotect]',
    positionals: [1, 1],
    examples: [
      ['edgec flash build/ --port /dev/ttyUSB0', 'write, read back and start the firmware (BOOT0 high, then reset)'],
    ],
    flags: {
      port: { value: true, help: "the serial port wired to the bootloader's USART (USART1 PA9/PA10 on stm32f4), e.g. /dev/ttyUSB0" },
      baud: { value: true, help: 'baud rate, 1200 to 115200 (default 115200)' },
      parity: { value: true, choices: ['even', 'none'], help: "even (default: the ROM's 8E1) or none (pseudo-terminals and simulators, which cannot do parity)" },
      board: { value: true, help: 'board of a bare .bin or .elf (default stm32f4); a build folder names its own' },
      'board-dir': BOARD_DIR_FLAG,
      'no-verify': { help: 'do not read the image back' },
      'no-go': { help: 'leave the bootloader running instead of starting the image' },
      unprotect: { help: 'if read protection is active, remove it (READOUT_UNPROTECT erases the whole flash)' },
      json: JSON_FLAG,
    },
    action: async (args) => {
      const { flashCommand } = await import('./flash.ts');
      return flashCommand(args, VERBS.flash.usage);
    },
  },
};

/**
 * The graph `edgec build` compiles: with --prune, the model pruned on --data and then quantized
 * on --calib, and the pruning report; else the model as --calib makes it. With what the quantizer
 * measured per layer, for the build's report.
 */
async function preparePruned(
  args: ReturnType<typeof parseArgs>,
  board: string,
): Promise<{ graph: Graph; pruned?: { text: string; json: unknown }; quantization?: BuildOptions['quantization'] }> {
  const { prepareModel, quantizeModel } = await import('../src/pipeline.ts');
  const quantize = quantizeRequest('build', args);
  if (!args.values.has('prune')) {
    const stray = Object.keys(PRUNE_DATA_FLAGS).filter((f) => args.values.has(f) || args.switches.has(f));
    if (stray.length > 0) throw usageError(`edgec build: ${stray.map((f) => `--${f}`).join(', ')} go with --prune <budget>`);
    const { graph, quantized } = await prepareModel(args.positionals[0], quantize);
    return { graph, ...(quantized && { quantization: reportQuantization(quantized.samples, quantized.layers) }) };
  }
  if (!quantize) throw usageError('edgec build: --prune goes with --calib <data>: the pruned model is quantized to int8 before it is built');
  const { budgetsFrom, loadFloatModel, pruneReportJson, pruneReportText, pruneRequest, runPrune } = await import('./prune.ts');
  const budgets = budgetsFrom(args);
  const loaded = await loadFloatModel(args.positionals[0], quantize.requantize);
  let request = await pruneRequest('build', args, loaded.graph, budgets);
  const flash = budgets.find((b) => b.kind === 'flash');
  let target = flash?.value ?? 0;
  const retries: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const result = await runPrune({ model: args.positionals[0], ...request, board }, loaded);
    const quantized = await quantizeModel(result.graph, quantize);
    const pruned = { text: [await pruneReportText(result), ...retries].join('\n'), json: { ...(await pruneReportJson(result)), retries: [...retries] } };
    const done = { graph: quantized.graph, pruned, quantization: reportQuantization(quantized.samples, quantized.layers) };
    if (!flash) return done;
    // Pruning estimates code as the unpruned model's, but kernels chosen for the pruned shapes
    // may take more: build it, and prune again with any excess taken off the budget.
    const over = (await flashBytes(quantized.graph, board)) - flash.value;
    if (over <= 0) return done;
    if (attempt === 3) {
      throw modelError(`edgec build: the pruned model still takes ${over} bytes more flash than --prune flash=${flash.value} after ${attempt} tries: give a smaller budget`);
    }
    retries.push(`built, it took ${over} bytes more flash than ${flash.value} (its kernels take more code than the unpruned model's): pruned again to ${target - over}`);
    target -= over;
    request = { ...request, budgets: request.budgets.map((b) => (b.kind === 'flash' ? { ...b, value: target } : b)) };
  }
}

/** Code and weights of a graph's firmware for `board`, as `edgec build` reports them. */
async function flashBytes(graph: Graph, board: string): Promise<number> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { buildForBoard } = await import('../src/targets/build.ts');
  const dir = mkdtempSync(join(tmpdir(), 'edgec-flash-check-'));
  try {
    const { flash } = (await buildForBoard(graph, board, dir)).report;
    return flash.code + flash.weights;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** --baud N, when given: a positive whole number. */
function baudOf(verb: string, args: ReturnType<typeof parseArgs>): number | undefined {
  const text = args.values.get('baud')?.[0];
  const baud = text === undefined ? undefined : Number(text);
  if (baud !== undefined && (!Number.isInteger(baud) || baud <= 0)) throw usageError(`edgec ${verb}: --baud ${text} is not a baud rate`);
  return baud;
}

function overview(): string {
  return [
    `edgec ${edgecVersion()}: a model compiler for microcontrollers`,
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
  const args = parseArgs(verb, spec, rest);
  if (args.switches.has('quiet')) silenceProgress();
  const boardDirs = args.values.get('board-dir');
  if (boardDirs) {
    const { useBoardDirs } = await import('../src/toolchain/index.ts');
    useBoardDirs(boardDirs);
  }
  const result = await spec.action(args);
  const { output, json, exitCode = 0 } = typeof result === 'string' ? { output: result } : result;
  // --json with no file: the results as JSON, alone on stdout.
  const asJson = args.switches.has('json') && !args.values.has('json');
  const printed = asJson ? JSON.stringify(json, null, 2) : output;
  if (printed) process.stdout.write(printed + '\n');
  return exitCode;
}

/** The file-system errors a user's paths cause, in words. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EEXIST: 'a file is in the way',
  EISDIR: 'is a folder, a file is needed',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EMFILE: 'too many open files',
};

function report(error: unknown): number {
  if (error instanceof EdgecError) {
    process.stderr.write(`edgec: error: ${error.message}\n`);
    for (const line of error.details) process.stderr.write(`  ${line}\n`);
    return error.kind === 'usage' ? 2 : 1;
  }
  // A file the system would not read or write: the user's paths or disk, not a bug in edgec.
  const system = error as NodeJS.ErrnoException;
  if (system instanceof Error && typeof system.code === 'string' && system.code in FILE_ERRORS) {
    process.stderr.write(`edgec: error: ${system.path ?? 'a file'}: ${FILE_ERRORS[system.code]} (${system.code})\n`);
    return 1;
  }
  // Anything else is a bug in edgec, not in the user's input: say so, with the trace to report.
  process.stderr.write(`edgec: internal error (please report it): ${error instanceof Error ? error.stack : String(error)}\n`);
  return 70;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => (process.exitCode = report(error)),
);
