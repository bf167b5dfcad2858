#!/usr/bin/env node
// The published entry point: load the TypeScript sources through tsx so there is no build step.
import { register } from 'tsx/esm/api';
register();
await import('./main.ts');
