// `edgec profile`: cycles per op of one build on the board (or in QEMU), as a table and JSON.

import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../src/ir/errors.ts';
import { readSampleFiles, splitSamples } from '../src/samples.ts';
import { buildForBoard, loadBuild } from '../src/targets/build.ts';
import { runOnBoard } from '../src/targets/hil.ts';
import { profileOf, randomSample, type Profile } from '../src/targets/profile.ts';
import { reportHtml, type PageProfile } from '../src/targets/report-html.ts';
import { openTransport } from './hil.ts';
import { formatTable, thousands } from './table.ts';

export interface ProfileRequest {
  buildDir: string;
  qemu: boolean;
  port?: string;
  baud?: number;
  /** Samples to run (the median per op is shown); default one seeded random sample. */
  data?: string[];
  json?: string;
  /** Write report.html of the build with the profile's per-layer counts. */
  html?: string;
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Under QEMU the counter is a timer calibrated to executed instructions; on silicon, cycles. */
const counterUnit = (p: Profile): PageProfile['unit'] => (/qemu/i.test(p.transport) ? 'instructions' : 'cycles');

/** What the report page shows of a profile. */
export function pageProfile(p: Profile): PageProfile {
  return {
    unit: counterUnit(p),
    byOp: new Map(p.layers.map((l) => [l.op, l.cycles])),
    inference: p.inference,
    transport: p.transport,
  };
}

export function profileText(p: Profile): string {
  const unit = counterUnit(p);
  const rows = p.layers.map((l) => [
    String(l.op),
    l.kind,
    l.kernel,
    thousands(l.macs),
    thousands(l.cycles),
    l.macs ? l.macsPerCycle.toFixed(3) : '',
    percent(l.share),
  ]);
  const ms = (c: number) => ((1000 * c) / p.clockHz).toFixed(3);
  return [
    `${p.model} on ${p.board} via ${p.transport}: ${unit} per op (${p.counter}), median over ${p.samples} sample(s)`,
    '',
    formatTable(['op', 'kind', 'kernel', 'MACs', unit, `MACs/${unit === 'cycles' ? 'cycle' : 'instr'}`, 'share'], rows, new Set([0, 3, 4, 5, 6])),
    '',
    `sum over the ops: ${thousands(p.layersTotal)}; whole inference: ${thousands(p.inference)} (${ms(p.inference)} ms at ${p.clockHz / 1e6} MHz); ` +
      `the other ${thousands(p.overhead)} are the ${p.layers.length + 1} counter reads and the calls between ops`,
    `outputs bit-exact with the host int8 reference: ${p.bitExact}/${p.samples}`,
  ].join('\n');
}

export async function profileCommand(request: ProfileRequest): Promise<{ output: string; json: Profile; exitCode: number }> {
  const build = await loadBuild(request.buildDir);
  const { graph, report } = build;
  if (request.html && !report.memory) {
    throw usageError(`${request.buildDir} was built by an edgec without report pages: build it again to profile it with --html`);
  }
  let profiled = { dir: request.buildDir, report, elf: build.elf };
  let scratch: string | undefined;
  if (!report.profile) {
    if (!request.qemu) {
      throw usageError(`${request.buildDir} is not a profiling build: build one with edgec build <model> --board ${report.board} --profile -o <dir>, flash it (edgec flash), then profile that folder`);
    }
    // In QEMU a profiling build of the same model costs nothing to make and boot: make one aside.
    scratch = mkdtempSync(join(tmpdir(), 'edgec-profile-'));
    const made = await buildForBoard(graph, report.board, scratch, { firmware: 'hil', profile: true });
    profiled = { dir: scratch, report: made.report, elf: made.firmware.elf };
  }
  try {
    const samples = request.data ? splitSamples(graph, await readSampleFiles(request.data), request.data) : [randomSample(graph)];
    const transport = await openTransport(request, profiled.report.board, profiled.elf);
    let profile: Profile;
    try {
      const run = await runOnBoard(transport, graph, samples, { modelHash: profiled.report.modelHash });
      profile = profileOf(graph, profiled.report, run, samples, transport.name);
    } finally {
      await transport.close();
    }
    if (request.json) await writeFile(request.json, JSON.stringify(profile, null, 2) + '\n');
    if (request.html) await writeFile(request.html, reportHtml(report, pageProfile(profile)));
    const wrote = [request.json, request.html].filter((f) => f !== undefined).map((f) => `\nwrote ${f}`);
    const text = profileText(profile) + (wrote.length ? '\n' + wrote.join('') : '');
    return { output: text, json: profile, exitCode: profile.bitExact === profile.samples ? 0 : 1 };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
