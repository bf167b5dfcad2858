// Training on tfjs's wasm backend. Its forward kernels (XNNPACK) are several times faster than the
// cpu backend's, but it lacks some gradient kernels (the weight gradients of convolutions, among
// others), which is why it "cannot train convolutions". Every kernel the cpu backend has and the
// wasm backend lacks is bridged here: its inputs are copied out of the wasm heap, the cpu kernel
// (with edgec's fast training kernels in front) computes the result, and it is copied back.

import { engine, getKernel, getKernelsForBackend, registerKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { useFastTrainingKernels } from '../../src/float/fast-kernels.ts';
import { useFastBroadcastKernels } from './fast-broadcast.ts';

let bridged: string[] | undefined;

/** Kernels the wasm backend has but computes slower than the cpu backend's fast JavaScript ones. */
const SLOWER_ON_WASM = ['Tile'];

/** Registers the missing kernels on 'wasm' (once); returns their names. The wasm backend must have been registered. */
export function bridgeMissingWasmKernels(): string[] {
  if (bridged) return bridged;
  useFastTrainingKernels();
  useFastBroadcastKernels();
  const onWasm = new Set(getKernelsForBackend('wasm').map((k) => k.kernelName));
  bridged = getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((name) => !onWasm.has(name) || SLOWER_ON_WASM.includes(name));
  for (const kernelName of bridged) {
    const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
      const wasm = backend as BackendWasm;
      const cpu = engine().findBackend('cpu') as MathBackendCPU;
      const cpuInputs: Record<string, TensorInfo> = {};
      for (const [key, t] of Object.entries(inputs)) {
        if (t) cpuInputs[key] = cpu.makeTensorInfo(t.shape, t.dtype, wasm.typedArrayFromHeap(t).slice());
      }
      try {
        // The cpu kernel as registered now, fast ones in front.
        const result = getKernel(kernelName, 'cpu')!.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
        const outputs = Array.isArray(result) ? result : [result];
        const copied = outputs.map((o) => {
          const out = wasm.makeOutput(o.shape, o.dtype);
          wasm.typedArrayFromHeap(out).set(cpu.readSync(o.dataId) as ArrayLike<number>);
          cpu.disposeData(o.dataId);
          return out;
        });
        return Array.isArray(result) ? copied : copied[0];
      } finally {
        for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId);
      }
    };
    registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  return bridged;
}
