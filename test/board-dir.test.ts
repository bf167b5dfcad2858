// A user's own board outside the repository (--board-dir): listed, built for, and a broken board
// folder reported with the file and the field or file that is wrong.

import test from 'ava';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boardsDir } from '../src/toolchain/index.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const MODEL = new URL('../../shared/oracles/hello_world_int8/model.tflite', import.meta.url).pathname;

const workDir = mkdtempSync(join(tmpdir(), 'edgec-board-dir-test-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

/** A folder of board folders holding one board, `name`, made from the repository's nrf52840-dk, with `edit` applied to its board.json. */
function userBoards(folder: string, name: string, edit: (json: Record<string, unknown>) => void = () => {}): string {
  const dir = join(workDir, folder);
  cpSync(join(boardsDir(), 'nrf52840-dk'), join(dir, name), { recursive: true });
  const file = join(dir, name, 'board.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  json.name = name;
  json.description = 'a smartwatch of ours';
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
  return dir;
}

test('edgec boards --board-dir lists the user board beside the repository ones', async (t) => {
  const dir = userBoards('listed', 'my-watch');
  const result = await runEdgec('boards', '--board-dir', dir, '--json');
  t.is(result.code, 0, result.stderr);
  const boards = JSON.parse(result.stdout) as { name: string; dir: string; description: string }[];
  t.deepEqual(boards.map((b) => b.name), ['mps2-an386', 'mps2-an500', 'my-watch', 'nrf52840-dk', 'nucleo-f767zi', 'stm32f4']);
  t.like(boards.find((b) => b.name === 'my-watch'), { dir: join(dir, 'my-watch'), description: 'a smartwatch of ours' });
  const table = await runEdgec('boards', '--board-dir', dir);
  t.regex(table.stdout, /my-watch\s+cortex-m4\s+fpv4-sp-d16\s+64 MHz/);
});

test('a broken user board is a usage error naming its file and each missing field or file', async (t) => {
  const dir = userBoards('broken', 'half-done', (json) => {
    delete json.clockHz;
    delete json.console;
  });
  unlinkSync(join(dir, 'half-done', 'board_config.h'));
  const result = await runEdgec('build', MODEL, '--board-dir', dir, '--board', 'half-done', '-o', join(workDir, 'never'));
  t.is(result.code, 2);
  t.is(result.stdout, '');
  t.true(result.stderr.includes(`invalid board descriptor ${join(dir, 'half-done', 'board.json')}`), result.stderr);
  t.regex(result.stderr, /clockHz: expected a non-negative integer .* got undefined/);
  t.regex(result.stderr, /console\.uart: expected a non-empty string, got undefined/);
  t.regex(result.stderr, /console\.baud: /);
  t.regex(result.stderr, /no board_config\.h in the board's folder/);
});

test("a user board whose linker.ld disagrees with its board.json is refused with both figures", async (t) => {
  const dir = userBoards('mismatch', 'small-ram', (json) => (json.ram = { origin: '0x20000000', size: '0x10000' }));
  const result = await runEdgec('boards', '--board-dir', dir);
  t.is(result.code, 2);
  t.regex(result.stderr, /small-ram.linker\.ld: RAM is 0x20000000 \+ 0x40000, but board\.json's ram is 0x20000000 \+ 0x10000/);
});

test('--board-dir must be a folder of board folders', async (t) => {
  const missing = await runEdgec('boards', '--board-dir', join(workDir, 'nowhere'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--board-dir .*nowhere: no such folder/);
  const dir = userBoards('itself', 'the-board');
  const itself = await runEdgec('boards', '--board-dir', join(dir, 'the-board'));
  t.is(itself.code, 2);
  t.regex(itself.stderr, /is a board folder itself: give the folder that holds it .* and --board the-board/);
});

const noGcc = missingTool('arm-none-eabi-gcc');
if (noGcc !== null) {
  test.skip(`building for a user board (skipped: ${noGcc})`, () => {});
} else {
  test('edgec build --board-dir builds for the user board; the build folder carries it', async (t) => {
    const dir = userBoards('built', 'my-watch');
    const out = join(workDir, 'build');
    const result = await runEdgec('build', MODEL, '--board-dir', dir, '--board', 'my-watch', '-o', out, '--quiet');
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /built \S+ for my-watch \(cortex-m4, 64 MHz\)/);
    t.is(result.stderr, '');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { board: string; flash: { capacity: number } };
    t.like(report, { board: 'my-watch', flash: { capacity: 1024 * 1024 } });
    t.truthy(readFileSync(join(out, 'board', 'my-watch', 'board.json'), 'utf8'));
  });
}
