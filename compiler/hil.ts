// `edgec hil`: every sample of a test set through a HIL build on the board (or its QEMU stand-in),
// compared with the host int8 reference; a table on stdout, JSON and JUnit XML on request.

import { writeFile } from 'node:fs/promises';
import { usageError } from '../src/ir/errors.ts';
import { readSampleFiles, splitSamples } from '../src/samples.ts';
import type { Transport } from '../src/device/transport.ts';
import { loadBuild } from '../src/targets/build.ts';
import { hilReport, junitXml, labelsOf, runOnBoard, type HilReport } from '../src/targets/hil.ts';
import { loadBoard } from '../src/toolchain/index.ts';
import { progress } from './progress.ts';
import { formatTable, thousands } from './table.ts';

export interface HilRequest {
  buildDir: string;
  qemu: boolean;
  port?: string;
  /** Default: the board's console baud rate. */
  baud?: number;
  data: string[];
  labels?: string;
  json?: string;
  junit?: string;
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)}%`);

export function hilText(r: HilReport): string {
  const m = r.agreement.firstMismatch;
  const rows = [
    ['samples', thousands(r.samples)],
    ['accuracy on the board', r.accuracy === null ? 'no --labels given' : `${pct(r.accuracy)} (host int8 reference: ${pct(r.referenceAccuracy)})`],
    ['bit-exact with the host int8 reference', `${thousands(r.agreement.bitExact)}/${thousands(r.agreement.total)}`],
    ...(m ? [['first mismatch', `sample ${m.sample}, output ${m.output}[${m.index}]: board ${m.board}, reference ${m.reference}`]] : []),
    [`cycles per inference (${r.cycles.source})`, `median ${thousands(r.cycles.median)}, min ${thousands(r.cycles.min)}, max ${thousands(r.cycles.max)}`],
    [`latency at ${r.latencyMs.clockHz / 1e6} MHz`, `median ${r.latencyMs.median.toFixed(3)} ms, min ${r.latencyMs.min.toFixed(3)} ms, max ${r.latencyMs.max.toFixed(3)} ms`],
    ['throughput over the link', `${r.throughput.samplesPerSecond.toFixed(1)} samples/s (${r.throughput.seconds.toFixed(1)} s)`],
    ['bytes on the wire per sample', `${thousands(r.throughput.wireBytesPerSample)} (payload ${thousands(r.throughput.payloadBytesPerSample)})`],
    ['link recoveries', Object.entries(r.link).map(([k, v]) => `${k} ${v}`).join(', ')],
  ];
  return [`${r.model} on ${r.board} via ${r.transport}`, '', formatTable(['figure', 'value'], rows)].join('\n');
}

/** The board behind `--qemu` (the build booted in its QEMU machine) or `--port`. */
export async function openTransport(request: Pick<HilRequest, 'qemu' | 'port' | 'baud'>, board: string, elf: string): Promise<Transport> {
  if (request.qemu) {
    const { startEmulatedBoard } = await import('../src/device/qemu-board.ts');
    return startEmulatedBoard(loadBoard(board), elf);
  }
  const { openSerialPort } = await import('../src/device/serial.ts');
  return openSerialPort(request.port!, { baud: request.baud ?? loadBoard(board).console.baud, parity: 'none' });
}

export async function hilCommand(request: HilRequest): Promise<{ output: string; json: HilReport; exitCode: number }> {
  const build = await loadBuild(request.buildDir);
  if (build.report.firmware !== 'hil') {
    throw usageError(
      `${request.buildDir} holds a '${build.report.firmware}' firmware, which does not speak the HIL protocol: rebuild it with edgec build --hil`,
    );
  }
  const { graph } = build;
  const samples = splitSamples(graph, await readSampleFiles(request.data), request.data);
  const labels = request.labels ? labelsOf((await readSampleFiles([request.labels]))[0], samples.length, request.labels) : undefined;
  const transport = await openTransport(request, build.report.board, build.elf);
  const bar = progress(`${graph.name} on ${transport.name}`);
  let report: HilReport;
  try {
    const run = await runOnBoard(transport, graph, samples, { modelHash: build.report.modelHash, onProgress: (d, t) => bar.update(d, t) });
    report = hilReport(graph, samples, run, transport.name, labels);
  } finally {
    bar.end();
    await transport.close();
  }
  if (request.json) await writeFile(request.json, JSON.stringify(report, null, 2) + '\n');
  if (request.junit) await writeFile(request.junit, junitXml(report));
  const written = [request.json, request.junit].filter(Boolean).map((f) => `wrote ${f}`);
  return { output: [hilText(report), ...(written.length ? ['', ...written] : [])].join('\n'), json: report, exitCode: report.agreement.bitExact === report.samples ? 0 : 1 };
}
