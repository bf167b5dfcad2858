// The edgec command as a child process: its exit code and everything it printed.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const edgec = fileURLToPath(new URL('../../compiler/edgec.js', import.meta.url));

export function runEdgec(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [edgec, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
