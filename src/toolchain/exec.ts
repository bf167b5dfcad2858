// Running a build tool to completion and turning a failure into an EdgecError that carries
// the tool's own diagnostics (a compiler error is only useful with its file and line).

import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { EdgecError } from '../ir/errors.ts';

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args`; `doing` completes "<tool> failed <doing>" in the error. */
export function runTool(command: string, args: string[], doing: string): Promise<ToolOutput> {
  const tool = basename(command);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new EdgecError('tool', `could not run ${tool} ${doing}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) {
        resolve(result);
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
      reject(new EdgecError('tool', `${tool} failed ${doing} (${how})`, lines));
    });
  });
}
