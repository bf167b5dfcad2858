// The README's supported-operators table is the one the importer's constraints generate, and it
// describes exactly the operators the importer converts.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { convertedBuiltins } from '../src/import/tflite.ts';
import { SUPPORT, replaceSupportedOperators } from '../src/import/tflite-support.ts';
import { builtinOperatorName } from '../src/tflite/schema.ts';

test('the README table is current (run npm run docs:ops after changing an operator)', (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  t.is(readme, replaceSupportedOperators(readme));
});

test('the table describes every operator the importer converts, and no other', (t) => {
  const names = (codes: number[]) => codes.map(builtinOperatorName).sort();
  t.deepEqual(names(Object.keys(SUPPORT).map(Number)), names(convertedBuiltins()));
});
