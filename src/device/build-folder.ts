// A folder made by `edgec build`, as the device side needs it: the board it was built for and
// its firmware. The firmware is looked for beside report.json, since the folder may have moved.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dataError, usageError } from '../ir/errors.ts';

/** The fields of report.json every device command reads (the build writes many more). */
export interface BuildFolderReport {
  model: string;
  board: string;
  files: { elf: string; bin: string };
}

export interface BuildFolder<R extends BuildFolderReport = BuildFolderReport> {
  dir: string;
  report: R;
  elf: string;
  bin: string;
}

export function readBuildFolder<R extends BuildFolderReport = BuildFolderReport>(dir: string): BuildFolder<R> {
  const reportFile = join(dir, 'report.json');
  if (!existsSync(reportFile)) throw usageError(`${dir} is not an edgec build folder (no report.json): give a folder made by edgec build`);
  let report: R;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as R;
  } catch (e) {
    throw dataError(`${reportFile} is not valid JSON (${(e as Error).message}): build the folder again with edgec build`);
  }
  if (typeof report.board !== 'string' || typeof report.files?.elf !== 'string' || typeof report.files?.bin !== 'string') {
    throw dataError(`${reportFile} does not name the board and the firmware it built: build the folder again with edgec build`);
  }
  const elf = join(dir, basename(report.files.elf));
  const bin = join(dir, basename(report.files.bin));
  for (const file of [elf, bin]) {
    if (!existsSync(file)) throw dataError(`${dir} has no ${basename(file)}: run make in that folder, or edgec build again`);
  }
  return { dir, report, elf, bin };
}
