// `main` programs around a generated model: one for the host (samples on stdin, outputs on stdout)
// and one for a board (samples built into flash, outputs and cycle counts over the console UART).

import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import type { Graph } from '../ir/types.ts';
import { cCommentText, cInitializer } from './c-syntax.ts';

const ioBytes = (graph: Graph, list: number[]) => list.map((t) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype]);

/**
 * Reads whole samples (every input, in order) from stdin until it ends; writes every output of each.
 * Each sample starts from cleared state, unless `stateful` (then recurrent state carries over, as
 * for consecutive frames of one stream).
 */
export function hostRunner(graph: Graph, prefix: string, stateful = false): string {
  const inputs = ioBytes(graph, graph.inputs);
  const outputs = ioBytes(graph, graph.outputs);
  return [
    `/* Host runner for ${cCommentText(graph.name)}: raw samples on stdin, raw outputs on stdout. */`,
    '#include <stdio.h>',
    `#include "${prefix}.h"`,
    '',
    'int main(void)',
    '{',
    '    for (;;) {',
    ...inputs.map(
      (bytes, k) =>
        `        if (fread(${prefix}_input(${k}), 1, ${bytes}, stdin) != ${bytes}) return ${k === 0 ? 'feof(stdin) ? 0 : 1' : '1'};`,
    ),
    ...(stateful ? [] : [`        ${prefix}_reset();`]),
    `        ${prefix}_invoke();`,
    ...outputs.map((bytes, k) => `        if (fwrite(${prefix}_output(${k}), 1, ${bytes}, stdout) != ${bytes}) return 1;`),
    '    }',
    '}',
    '',
  ].join('\n');
}

/**
 * Runs each sample built into the firmware and sends, per sample, every output followed by the
 * inference's cycle count (4 bytes, little-endian), then exits with code 0. With no samples it
 * runs one inference on an all-zero input, so that every firmware exercises its model. Each sample
 * starts from cleared state unless `stateful`.
 */
export function embeddedRunner(graph: Graph, prefix: string, givenSamples: Uint8Array[][], stateful = false): string {
  const inputs = ioBytes(graph, graph.inputs);
  const samples = givenSamples.length > 0 ? givenSamples : [inputs.map((bytes) => new Uint8Array(bytes))];
  const outputs = ioBytes(graph, graph.outputs);
  const arrays = inputs.map((bytes, k) => {
    const all = new Uint8Array(samples.length * bytes);
    samples.forEach((s, i) => all.set(s[k], i * bytes));
    return `static const uint8_t sample_input${k}[${all.length}] = {\n${cInitializer(all, 'uint8_t')}\n};`;
  });
  return [
    `/* Firmware runner for ${cCommentText(graph.name)}: ${samples.length} built-in sample(s); per sample the outputs`,
    ' * and the cycle count of the inference go out on the console UART. */',
    '#include <stdint.h>',
    '#include <string.h>',
    '#include "board.h"',
    `#include "${prefix}.h"`,
    '',
    ...arrays,
    '',
    'int main(void)',
    '{',
    '    board_init();',
    `    for (uint32_t i = 0; i < ${samples.length}u; i++) {`,
    ...inputs.map((bytes, k) => `        memcpy(${prefix}_input(${k}), &sample_input${k}[i * ${bytes}u], ${bytes}u);`),
    ...(stateful ? [] : [`        ${prefix}_reset();`]),
    '        uint32_t start = board_cycles();',
    `        ${prefix}_invoke();`,
    '        uint32_t cycles = board_cycles() - start;',
    ...outputs.map((bytes, k) => `        board_uart_write(${prefix}_output(${k}), ${bytes}u);`),
    '        board_uart_write(&cycles, sizeof cycles);',
    '    }',
    '    board_exit(0);',
    '    return 0;',
    '}',
    '',
  ].join('\n');
}
