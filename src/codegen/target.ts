import type { CodegenTarget } from './emitter.ts';

/** Cores with the DSP extension (SMLAD, SXTB16, ...); the M33 is taken with its optional DSP present. */
const DSP_CPUS = new Set(['cortex-m4', 'cortex-m7', 'cortex-m33']);

export function codegenTarget(cpu: string): CodegenTarget {
  return { cpu, dsp: DSP_CPUS.has(cpu) };
}

/** The host and wasm builds: portable kernels only. */
export const PORTABLE_TARGET: CodegenTarget = { cpu: 'host', dsp: false };
