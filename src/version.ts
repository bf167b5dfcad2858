// edgec's version, from its package.json: the CLI prints it and generated libraries carry it.

import { readFileSync } from 'node:fs';

export function edgecVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
