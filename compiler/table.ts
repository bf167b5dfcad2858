// The text tables live in the library (src/text-table.ts) so examples and the bench print the same way.
export { formatTable, thousands } from '../src/text-table.ts';
