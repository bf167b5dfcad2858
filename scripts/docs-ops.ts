// Writes the supported-operators table (src/import/tflite-support.ts) into README.md between its
// markers. `npm run docs:ops`; test/docs-ops.test.ts fails while the README is behind.

import { readFileSync, writeFileSync } from 'node:fs';
import { replaceSupportedOperators } from '../src/import/tflite-support.ts';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = replaceSupportedOperators(before);
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md: the supported-operators table is current' : 'README.md: supported-operators table updated');
