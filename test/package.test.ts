// The published package, as a user gets it: `npm pack`, installed into a project of its own
// elsewhere, then the `edgec` command builds and runs a model in QEMU from there, and the library
// answers `import ... from 'edgec'`. The tarball holds what runs, not the tests or their fixtures.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { dataBytes } from '../src/ir/dtype.ts';
import { readNpy } from '../src/npy/npy.ts';
import { missingTool } from './helpers/tools.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const oracle = (file: string) => fileURLToPath(new URL(`../../shared/oracles/hello_world_int8/${file}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgec-package-'));

interface PackedFile {
  path: string;
}

function pack(): { tarball: string; files: string[] } {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out) as { filename: string; files: PackedFile[] }[];
  return { tarball: join(work, info.filename), files: info.files.map((f) => f.path) };
}

test.serial('the tarball holds the compiler, library, kernels, boards and the board guide the README links, and no tests, fixtures, pictures or build outputs', (t) => {
  const { files } = pack();
  for (const needed of ['compiler/edgec.js', 'compiler/main.ts', 'src/index.ts', 'runtime-c/include/ec_nn.h', 'boards/board.h', 'boards/stm32f4/board.json', 'hil/hil_agent.c', 'docs/boards.md', 'package.json', 'README.md']) {
    t.true(files.includes(needed), needed);
  }
  const stray = files.filter((f) => /^(test|bench|examples|build|scripts|\.ci)\//.test(f) || (f.startsWith('docs/') && f !== 'docs/boards.md') || f.endsWith('.tap'));
  t.deepEqual(stray, []);
});

const missing = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missing !== null) {
  test.skip(`the installed package builds and runs a model in QEMU (skipped: ${missing})`, () => {});
} else {
  test.serial('installed into a project elsewhere, edgec builds and runs a model in QEMU and the library imports', (t) => {
    const { tarball } = pack();
    const project = join(work, 'user-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    // The registry only for what the local npm cache lacks (all of it after the repository's npm ci).
    const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, encoding: 'utf8' });
    t.is(install.status, 0, install.stderr);
    const edgec = (...args: string[]) => spawnSync(join(project, 'node_modules', '.bin', 'edgec'), args, { cwd: project, encoding: 'utf8' });
    t.regex(edgec('--version').stdout, /^edgec \d+\.\d+\.\d+/);
    const built = edgec('build', oracle('model.tflite'), '--board', 'stm32f4', '-o', 'fw');
    t.is(built.status, 0, built.stderr);
    const run = edgec('run', 'fw', '--input', oracle('input.npy'), '--target', 'qemu', '--output', 'out.npy');
    t.is(run.status, 0, run.stderr);
    const expected = readNpy(readFileSync(oracle('output.npy')));
    t.deepEqual(Buffer.from(dataBytes(readNpy(readFileSync(join(project, 'out.npy'))).data)), Buffer.from(dataBytes(expected.data)));
    writeFileSync(
      join(project, 'app.js'),
      "import { loadModel, listBoards } from 'edgec';\nconst g = await loadModel(process.argv[2]);\nconsole.log(JSON.stringify({ ops: g.ops.length, boards: listBoards() }));\n",
    );
    const app = spawnSync(process.execPath, ['--import', 'tsx', 'app.js', oracle('model.tflite')], { cwd: project, encoding: 'utf8' });
    t.is(app.status, 0, app.stderr);
    const answer = JSON.parse(app.stdout) as { ops: number; boards: string[] };
    t.is(answer.ops, 3);
    t.true(answer.boards.includes('stm32f4'));
  });
}
