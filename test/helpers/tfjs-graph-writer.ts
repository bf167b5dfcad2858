// A TF.js graph model written by hand as tensorflowjs_converter writes one (model.json with the
// nodes, weights.bin with the constants), for tests that run it through tfjs-converter and edgec.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Attr = Record<string, unknown>;

export const int = (i: number) => ({ i: String(i) });
export const bool = (b: boolean) => ({ b });
export const str = (s: string) => ({ s: Buffer.from(s).toString('base64') });
export const strings = (list: string[]) => ({ list: { s: list.map((s) => Buffer.from(s).toString('base64')) } });
export const intList = (list: number[]) => ({ list: { i: list.map(String) } });

export class HandGraph {
  private readonly nodes: { name: string; op: string; input?: string[]; attr?: Attr }[] = [];
  private readonly weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; values: number[] }[] = [];

  placeholder(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    return name;
  }

  constant(name: string, dtype: 'float32' | 'int32', shape: number[], values: number[]): string {
    const type = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.weights.push({ name, shape, dtype, values });
    return name;
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, 'int32', shape, values);
  }

  /** A float32 node (attribute T = DT_FLOAT) of `op` reading `input`. */
  node(name: string, op: string, input: string[], attr: Attr = {}): string {
    this.nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  }

  /** Writes model.json and weights.bin into `dir`; returns the model.json path. */
  write(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const data = this.weights.map((w) => (w.dtype === 'float32' ? Float32Array.from(w.values) : Int32Array.from(w.values)));
    writeFileSync(join(dir, 'weights.bin'), Buffer.concat(data.map((d) => Buffer.from(d.buffer))));
    const manifest = [{ paths: ['weights.bin'], weights: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }];
    const topology = { node: this.nodes, versions: {} };
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', generatedBy: 'hand', convertedBy: 'hand', modelTopology: topology, weightsManifest: manifest }));
    return join(dir, 'model.json');
  }
}
