/** Where `edgec run` can run a model (see run.ts). */
export const TARGETS: readonly string[] = ['ref', 'host', 'wasm', 'qemu'];
