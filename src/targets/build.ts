// `edgec build`: a graph to a firmware folder for a board, with a report of what it uses of the
// board's flash and RAM. A model that cannot fit fails before the compiler runs, with numbers.

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateC, type ArenaPlacement, type GeneratedModel } from '../codegen/generate.ts';
import { kernelEmitter } from '../codegen/ops/index.ts';
import { embeddedRunner } from '../codegen/runners.ts';
import { codegenTarget } from '../codegen/target.ts';
import { dataBytes, DTYPE_BYTES, numel } from '../ir/dtype.ts';
import { modelError, usageError } from '../ir/errors.ts';
import { isQuantizedGraph } from '../import/float-graph.ts';
import { loadModel } from '../import/index.ts';
import { exportTflite } from '../tflite/export.ts';
import { writeTflite } from '../tflite/writer.ts';
import type { Graph, TensorData } from '../ir/types.ts';
import { loadBoard, MIN_STACK_BYTES, type Board, type Firmware } from '../toolchain/index.ts';
import { hilAgentFiles, hilFirmwareFiles, type FirmwareKind, type SourceFile } from '../device/firmware-sources.ts';
import { mlperfTinyFiles, type MlperfModel } from '../device/mlperf-tiny.ts';
import { modelHash } from '../device/protocol.ts';
import { readBuildFolder, type BuildFolder } from '../device/build-folder.ts';
import { buildProject, writeFirmwareProject } from './firmware.ts';
import { reportLayers, reportMemory, type ReportLayer, type ReportMemory, type ReportQuantLayer } from './report-facts.ts';
import { reportHtml } from './report-html.ts';
import { writeLibrary, type LibraryFolder } from './library.ts';
import { edgecVersion } from '../version.ts';

export interface BuildReport {
  model: string;
  board: string;
  cpu: string;
  clockHz: number;
  macs: number;
  /** code: instructions and their constants, without the model's weights or built-in samples;
   *  testData: the input samples a 'samples' firmware carries (0 for the HIL firmwares). */
  flash: { capacity: number; code: number; weights: number; testData: number; total: number };
  /** `state`: what recurrent layers keep between inferences, in static buffers of their own (not the arena). */
  ram: { capacity: number; arena: number; state: number; stack: number; other: number; total: number };
  arenaStrategy: string;
  /** What sets the arena's size: the op during which the live buffers reach its top, and those buffers from the lowest up. */
  arenaBound: ArenaBoundReport;
  /** What the firmware runs: samples built into it, the HIL agent, or the MLPerf Tiny DUT. */
  firmware: FirmwareKind;
  mlperfModel?: MlperfModel;
  /** A profiling build: every OUTPUT carries the cycles of each op. */
  profile?: boolean;
  /** Identifies the model to the HIL host (see src/device/protocol.ts). */
  modelHash: string;
  ops: ReportLayer[];
  memory: ReportMemory;
  /** When edgec quantized the model for this build: each layer's error on the calibration data. */
  quantization?: { samples: number; layers: ReportQuantLayer[] };
  files: { elf: string; bin: string };
}

export interface ArenaBoundReport {
  op: number;
  kind: string;
  kernel: string;
  buffers: { role: 'input' | 'output' | 'scratch' | 'accumulators' | 'held'; tensor?: string; shape?: number[]; bytes: number; offset: number }[];
}

function arenaBoundReport(graph: Graph, model: GeneratedModel): ArenaBoundReport {
  const { op, buffers } = model.plan.bound;
  return {
    op,
    kind: graph.ops[op]?.kind ?? '',
    kernel: model.ops[op]?.kernel ?? '',
    buffers: buffers.map(({ role, tensor, bytes, offset }) =>
      tensor === undefined ? { role, bytes, offset } : { role, tensor: graph.tensors[tensor].name, shape: graph.tensors[tensor].shape, bytes, offset },
    ),
  };
}

export interface BuildResult {
  model: GeneratedModel;
  firmware: Firmware;
  report: BuildReport;
}

export function generateForBoard(graph: Graph, board: Board, profile = false, arena?: ArenaPlacement): GeneratedModel {
  return generateC(graph, { target: codegenTarget(board.cpu), emitter: kernelEmitter, profile, arena });
}

/** Fails early, naming the layer that needs the most memory, when the model cannot fit the board. */
export function checkFits(graph: Graph, model: GeneratedModel, board: Board): void {
  const ramLimit = board.ram.size - MIN_STACK_BYTES;
  // int8 activations and weights take a quarter of float32's bytes.
  const int8Hint = isQuantizedGraph(graph) ? [] : ['the model is float32: --calib <data> quantizes it to int8, which needs about a quarter of these bytes'];
  if (model.plan.arenaBytes > ramLimit) {
    const peak = model.ops.reduce((a, b) => (b.liveBytes > a.liveBytes ? b : a));
    const out = graph.tensors[graph.ops[peak.index].outputs[0]];
    throw modelError(
      `${graph.name} does not fit ${board.name}: the activation arena needs ${model.plan.arenaBytes} bytes, ` +
        `the board has ${board.ram.size} bytes of RAM of which ${ramLimit} can hold it`,
      [
        `the largest need is op ${peak.index} (${peak.kind}), with ${peak.liveBytes} bytes live; its output is [${out.shape}] ${out.dtype} (${numel(out.shape) * DTYPE_BYTES[out.dtype]} bytes)`,
        ...int8Hint,
      ],
    );
  }
  if (model.weightBytes > board.flash.size) {
    throw modelError(
      `${graph.name} does not fit ${board.name}: its constants need ${model.weightBytes} bytes, the board has ${board.flash.size} bytes of flash`,
      int8Hint,
    );
  }
}

/**
 * Stack of the deepest call chain: main -> the agent's own functions (all of them, a bound that
 * holds however the compiler inlined them) -> invoke -> the largest kernel frame.
 */
function stackEstimate(firmware: Firmware, prefix: string): number {
  const frame = (name: string) => firmware.stack.find((f) => f.function === name)?.bytes ?? 0;
  const agent = firmware.stack.filter((f) => /(^|\/)(hil_agent|mlperf_tiny)\.c:/.test(f.location) && f.function !== 'main');
  const kernels = firmware.stack.filter((f) => f.function.startsWith('ec_')).map((f) => f.bytes);
  return frame('main') + agent.reduce((n, f) => n + f.bytes, 0) + frame(`${prefix}_invoke`) + Math.max(0, ...kernels);
}

/** The model file a build folder keeps beside its sources, so that `edgec run <dir>` can find it. */
export const BUILD_MODEL_FILE = 'model.tflite';

export interface BuildOptions {
  /** What the firmware runs (default: samples). */
  firmware?: FirmwareKind;
  /** Inputs built into a 'samples' firmware, which runs them and reports outputs and cycles. */
  samples?: TensorData[][];
  /** The MLPerf Tiny network an 'mlperf-tiny' firmware stands for (how it takes its input bytes). */
  mlperfModel?: MlperfModel;
  /** A 'hil' firmware that reports the cycles of every op (for edgec profile). */
  profile?: boolean;
  /** The quantizer's per-layer errors, when the graph was quantized for this build. */
  quantization?: BuildReport['quantization'];
}

/** Bytes of input samples a 'samples' firmware carries (one blank sample when none is given). */
function builtInSampleBytes(graph: Graph, samples: TensorData[][]): number {
  const perSample = graph.inputs.reduce((n, t) => n + numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype], 0);
  return Math.max(1, samples.length) * perSample;
}

/** The C program around the model, by firmware kind. */
function programFiles(graph: Graph, model: GeneratedModel, board: Board, hash: string, options: BuildOptions): SourceFile[] {
  const kind = options.firmware ?? 'samples';
  if (kind === 'samples') {
    return [{ name: 'main.c', text: embeddedRunner(graph, model.prefix, (options.samples ?? []).map((s) => s.map(dataBytes))) }];
  }
  if (options.samples?.length) throw usageError(`samples are built only into a 'samples' firmware, not into a '${kind}' one, which receives them over the UART`);
  const facts = { graph, prefix: model.prefix, arenaBytes: model.plan.arenaBytes, board: board.name, clockHz: board.clockHz, modelHash: hash, profile: options.profile };
  if (kind === 'hil') return hilFirmwareFiles(facts, hilAgentFiles());
  return hilFirmwareFiles(facts, mlperfTinyFiles(graph, options.mlperfModel ?? 'kws01'));
}

/** -o names a folder, which is made when missing; a file there is the user's and stays. */
function checkOutputFolder(outDir: string): void {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw usageError(`${outDir} is a file: give -o a folder for the build (it is made when missing)`);
  }
}

/** The folder keeps the graph it was built from as a .tflite file (int8 after quantization). */
export async function buildForBoard(graph: Graph, boardName: string, outDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  checkOutputFolder(outDir);
  const board = loadBoard(boardName);
  if (options.profile && options.firmware !== 'hil') throw usageError(`a profiling build reports its cycles over the HIL protocol: build it with the HIL agent, not a '${options.firmware ?? 'samples'}' firmware`);
  const model = generateForBoard(graph, board, options.profile);
  checkFits(graph, model, board);
  const tflite = modelFileBytes(graph);
  const hash = modelHash(tflite);
  const project = writeFirmwareProject(outDir, model.prefix, boardName, model, programFiles(graph, model, board, hash, options));
  await writeFile(join(outDir, BUILD_MODEL_FILE), tflite);
  const firmware = await buildProject(project);
  const { text, data, bss } = firmware.size;
  const stack = stackEstimate(firmware, model.prefix);
  const flashTotal = text + data;
  const testData = (options.firmware ?? 'samples') === 'samples' ? builtInSampleBytes(graph, options.samples ?? []) : 0;
  const report: BuildReport = {
    model: graph.name,
    board: board.name,
    cpu: board.cpu,
    clockHz: board.clockHz,
    macs: model.ops.reduce((s, o) => s + o.macs, 0),
    flash: { capacity: board.flash.size, code: flashTotal - model.weightBytes - testData, weights: model.weightBytes, testData, total: flashTotal },
    ram: {
      capacity: board.ram.size,
      arena: model.plan.arenaBytes,
      state: model.plan.stateBytes,
      stack,
      other: data + bss - model.plan.arenaBytes - model.plan.stateBytes,
      total: data + bss + stack,
    },
    arenaStrategy: model.plan.strategy,
    arenaBound: arenaBoundReport(graph, model),
    firmware: options.firmware ?? 'samples',
    ...(options.firmware === 'mlperf-tiny' ? { mlperfModel: options.mlperfModel ?? 'kws01' } : {}),
    ...(options.profile ? { profile: true } : {}),
    modelHash: hash,
    ops: reportLayers(graph, model),
    memory: reportMemory(graph, model),
    ...(options.quantization ? { quantization: options.quantization } : {}),
    files: { elf: firmware.elf, bin: firmware.bin },
  };
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.html'), reportHtml(report));
  return { model, firmware, report };
}

/** What `edgec build --format library` reports: no firmware is linked, so no flash figures but the weights. */
export interface LibraryReport {
  model: string;
  format: 'library';
  board: string;
  cpu: string;
  macs: number;
  arena: { bytes: number; section?: string; external: boolean };
  weights: number;
  /** The runtime kernel files in the library, of all there are. */
  kernels: { used: string[]; available: number };
  ops: ReportLayer[];
  memory: ReportMemory;
  quantization?: BuildReport['quantization'];
  /** Relative to the folder. */
  sources: string[];
}

/** The model as a library for the user's firmware (see library.ts), checked against the board's memory. */
export async function buildLibrary(
  graph: Graph,
  boardName: string,
  outDir: string,
  options: { arena?: ArenaPlacement; quantization?: BuildReport['quantization'] } = {},
): Promise<{ model: GeneratedModel; library: LibraryFolder; report: LibraryReport }> {
  const board = loadBoard(boardName);
  checkOutputFolder(outDir);
  const model = generateForBoard(graph, board, false, options.arena);
  checkFits(graph, model, board);
  const library = writeLibrary(outDir, model, board, edgecVersion());
  await writeFile(join(outDir, BUILD_MODEL_FILE), modelFileBytes(graph));
  const report: LibraryReport = {
    model: graph.name,
    format: 'library',
    board: board.name,
    cpu: board.cpu,
    macs: model.ops.reduce((s, o) => s + o.macs, 0),
    arena: { bytes: model.plan.arenaBytes, ...(options.arena?.section ? { section: options.arena.section } : {}), external: options.arena?.external === true },
    weights: model.weightBytes,
    kernels: library.kernels,
    ops: reportLayers(graph, model),
    memory: reportMemory(graph, model),
    ...(options.quantization ? { quantization: options.quantization } : {}),
    sources: library.sources.map((s) => `src/${s}`),
  };
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return { model, library, report };
}

export interface Build extends BuildFolder<BuildReport> {
  /** The model the folder was built from. */
  graph: Graph;
}

/** A folder made by `edgec build`: its report, its model and its firmware. */
export async function loadBuild(dir: string): Promise<Build> {
  const folder = readBuildFolder<BuildReport>(dir);
  return { ...folder, graph: await loadModel(join(dir, BUILD_MODEL_FILE)) };
}

/** A model file, or a build folder (its kept model and the board it was built for). */
export async function loadModelOrBuild(path: string): Promise<{ graph: Graph; board?: string }> {
  if (!existsSync(path) || !statSync(path).isDirectory()) return { graph: await loadModel(path) };
  const { graph, report } = await loadBuild(path);
  return { graph, board: report.board };
}

/** A graph as a standard .tflite file (the form `edgec quantize` gives and a build folder keeps). */
export function modelFileBytes(graph: Graph): Uint8Array {
  return writeTflite(exportTflite(graph));
}

export async function writeModelFile(graph: Graph, path: string): Promise<void> {
  await writeFile(path, modelFileBytes(graph));
}
