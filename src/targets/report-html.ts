// report.html: a build's report as one self-contained page (no scripts, no network): the layers
// with their kernels, shapes, MACs, parameters and arena ranges; the memory plan drawn in SVG (each
// buffer a rectangle over the ops it lives through and the arena bytes it holds); flash and RAM as
// bars; the per-layer quantization error and instructions when the build has them.

import { thousands } from '../text-table.ts';
import type { BuildReport } from './build.ts';
import type { ReportLayer, ReportMemory } from './report-facts.ts';

/** Per-layer instructions (or cycles on silicon) from edgec profile, by op index. */
export interface PageProfile {
  unit: 'instructions' | 'cycles';
  byOp: Map<number, number>;
  inference: number;
  transport: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #555; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
td.n, th.n { text-align: right; }
tr.peak td { background: #fff3e0; }
.bar { display: flex; height: 22px; width: 720px; border: 1px solid #999; margin: 4px 0 2px; }
.bar div { height: 100%; }
.key span { display: inline-block; margin-right: 16px; }
.key i { display: inline-block; width: 11px; height: 11px; margin-right: 5px; vertical-align: -1px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
`;

const PART_COLORS = ['#3b6fb6', '#e39b2d', '#7aa95c', '#b05fa0'];

/** A horizontal bar of parts of a capacity, with its key. */
function capacityBar(title: string, parts: [string, number][], capacity: number): string {
  const used = parts.reduce((n, [, b]) => n + b, 0);
  const cells = parts
    .filter(([, b]) => b > 0)
    .map(([name, b], i) => `<div style="width:${((100 * b) / capacity).toFixed(3)}%;background:${PART_COLORS[i]}" title="${escape(name)}: ${thousands(b)} bytes"></div>`);
  const key = parts
    .filter(([, b]) => b > 0)
    .map(([name, b], i) => `<span><i style="background:${PART_COLORS[i]}"></i>${escape(name)} ${thousands(b)} B</span>`);
  return `<p><b>${title}</b>: ${thousands(used)} of ${thousands(capacity)} bytes (${((100 * used) / capacity).toFixed(1)}%)</p>
<div class="bar">${cells.join('')}</div><div class="key">${key.join('')}</div>`;
}

/**
 * The memory plan: x is the op sequence (a column before the first op for the inputs, one after the
 * last for the outputs), y the arena offset from 0 at the top. The op with the most bytes alive is
 * marked, and so is the arena's end.
 */
function memoryPlanSvg(memory: ReportMemory, ops: BuildReport['ops'], peak: ReportLayer | undefined): string {
  const columns = ops.length + 2;
  const width = Math.max(720, Math.min(1400, 28 * columns));
  const plotLeft = 78;
  const plotTop = 24;
  const plotHeight = 360;
  const columnWidth = (width - plotLeft - 10) / columns;
  const total = Math.max(1, memory.arenaBytes);
  const y = (offset: number) => plotTop + (plotHeight * offset) / total;
  const x = (op: number) => plotLeft + (op + 1) * columnWidth;
  const parts: string[] = [];
  if (peak) {
    parts.push(`<rect x="${x(peak.index)}" y="${plotTop}" width="${columnWidth}" height="${plotHeight}" fill="#fff3e0"/>`);
    parts.push(`<text x="${x(peak.index) + columnWidth / 2}" y="${plotTop - 8}" text-anchor="middle">peak: op ${peak.index}, ${thousands(peak.liveBytes)} B live</text>`);
  }
  memory.buffers.forEach((b, i) => {
    const scratch = b.scratchOf !== undefined;
    const hue = (i * 137.5) % 360;
    const fill = scratch ? 'url(#scratch)' : `hsl(${hue.toFixed(1)},55%,62%)`;
    const left = x(b.first);
    const w = (b.last - b.first + 1) * columnWidth;
    const h = Math.max(1, y(b.offset + b.bytes) - y(b.offset));
    const label = `${b.holds.join(', ')}: ${thousands(b.bytes)} B at ${thousands(b.offset)}, ops ${b.first} to ${b.last}`;
    parts.push(
      `<rect x="${left.toFixed(2)}" y="${y(b.offset).toFixed(2)}" width="${w.toFixed(2)}" height="${h.toFixed(2)}" fill="${fill}" stroke="#333" stroke-width="0.6"><title>${escape(label)}</title></rect>`,
    );
  });
  const axis: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const offset = Math.round((total * k) / 4);
    axis.push(`<line x1="${plotLeft - 4}" x2="${plotLeft}" y1="${y(offset)}" y2="${y(offset)}" stroke="#333"/>`);
    axis.push(`<text x="${plotLeft - 6}" y="${y(offset) + 4}" text-anchor="end">${thousands(offset)}</text>`);
  }
  const step = Math.max(1, Math.ceil(columns / 40));
  for (let op = -1; op <= ops.length; op += 1) {
    if ((op + 1) % step !== 0 && op !== ops.length) continue;
    const label = op < 0 ? 'in' : op === ops.length ? 'out' : String(op);
    axis.push(`<text x="${x(op) + columnWidth / 2}" y="${plotTop + plotHeight + 14}" text-anchor="middle">${label}</text>`);
  }
  const height = plotTop + plotHeight + 34;
  return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="memory plan">
<defs><pattern id="scratch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern></defs>
${parts.join('\n')}
<rect x="${plotLeft}" y="${plotTop}" width="${columns * columnWidth}" height="${plotHeight}" fill="none" stroke="#333"/>
<line x1="${plotLeft}" x2="${plotLeft + columns * columnWidth}" y1="${plotTop + plotHeight}" y2="${plotTop + plotHeight}" stroke="#c0392b" stroke-width="2"/>
${axis.join('\n')}
<text x="${plotLeft + columns * columnWidth}" y="${height - 2}" text-anchor="end">op</text>
<text transform="translate(12 ${plotTop + plotHeight / 2}) rotate(-90)" text-anchor="middle">arena offset (bytes)</text>
</svg>`;
}

function layerTable(report: BuildReport, peak: ReportLayer | undefined, profile?: PageProfile): string {
  const errors = new Map((report.quantization?.layers ?? []).map((l) => [l.tensor, l]));
  const head = ['op', 'kind', 'kernel', 'inputs', 'output', 'MACs', 'params B', 'output in arena', 'live B'];
  const numeric = new Set(['op', 'MACs', 'params B', 'live B', 'SQNR dB', profile?.unit ?? '', 'share']);
  if (report.quantization) head.push('SQNR dB');
  if (profile) head.push(profile.unit, 'share');
  const rows = report.ops.map((o) => {
    const cells = [
      String(o.index),
      o.kind,
      o.kernel,
      o.inputs.join('<br>'),
      o.output,
      o.macs ? thousands(o.macs) : '',
      o.paramBytes ? thousands(o.paramBytes) : '',
      o.arena ? `${thousands(o.arena[0])} to ${thousands(o.arena[1])}` : 'outside',
      thousands(o.liveBytes),
    ];
    if (report.quantization) {
      const e = errors.get(o.outputTensor);
      cells.push(e ? (e.sqnrDb === null ? 'exact' : e.sqnrDb.toFixed(1)) : '');
    }
    if (profile) {
      const c = profile.byOp.get(o.index);
      cells.push(c === undefined ? '' : thousands(c), c === undefined ? '' : `${((100 * c) / profile.inference).toFixed(1)}%`);
    }
    const tds = cells.map((c, k) => `<td${numeric.has(head[k]) ? ' class="n"' : ''}>${k === 3 ? c : escape(c)}</td>`);
    return `<tr${o === peak ? ' class="peak"' : ''}>${tds.join('')}</tr>`;
  });
  const ths = head.map((h) => `<th${numeric.has(h) ? ' class="n"' : ''}>${escape(h)}</th>`);
  return `<table><thead><tr>${ths.join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

export function reportHtml(report: BuildReport, profile?: PageProfile): string {
  const mhz = report.clockHz / 1e6;
  // The op with the most arena bytes in use; the arena may exceed them where placement leaves gaps.
  const peak = report.ops.reduce<ReportLayer | undefined>((a, b) => (a === undefined || b.liveBytes > a.liveBytes ? b : a), undefined);
  const flash = capacityBar(
    'Flash',
    [
      ['code', report.flash.code],
      ['weights and constants', report.flash.weights],
      ['built-in test samples', report.flash.testData],
    ],
    report.flash.capacity,
  );
  const ram = capacityBar(
    'RAM',
    [
      ['activation arena', report.ram.arena],
      ['stack', report.ram.stack],
      ['other static data', report.ram.other],
    ],
    report.ram.capacity,
  );
  const timing = profile
    ? `<p>${escape(profile.transport)}: ${thousands(profile.inference)} ${profile.unit} per inference (${((1000 * profile.inference) / report.clockHz).toFixed(3)} ms at ${mhz} MHz).</p>`
    : '<p class="sub">No profile: <code>edgec profile &lt;build-dir&gt; --qemu --html report.html</code> adds instructions per layer.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>edgec: ${escape(report.model)} on ${escape(report.board)}</title><style>${STYLE}</style></head>
<body>
<h1>${escape(report.model)} on ${escape(report.board)}</h1>
<p class="sub">${escape(report.cpu)} at ${mhz} MHz · ${report.ops.length} ops · ${thousands(report.macs)} MACs per inference · ${escape(report.firmware)} firmware</p>
<h2>Flash and RAM</h2>
${flash}
${ram}
<h2>Memory plan</h2>
<p>The arena is ${thousands(report.memory.arenaBytes)} bytes (${escape(report.memory.strategy)} placement). Each rectangle is a buffer, from the op that writes it to the last op that reads it; hatched ones are kernel scratch. Hover for names.</p>
${memoryPlanSvg(report.memory, report.ops, peak)}
<h2>Layers</h2>
${timing}
${report.quantization ? `<p>SQNR: each quantized layer against its float layer on ${report.quantization.samples} calibration sample(s).</p>` : ''}
${layerTable(report, peak, profile)}
</body></html>
`;
}
