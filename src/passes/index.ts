// The graph clean-up between import and pruning/quantization, in the order each step enables the
// next: identities out of the way, batch norms folded into the layers before them, then the
// activations fused into those layers.

import type { Graph } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { foldBatchNorm } from './fold-batch-norm.ts';
import { fuseActivations } from './fuse-activations.ts';
import { removeIdentities } from './remove-identities.ts';

export { foldBatchNorm, fuseActivations, removeIdentities };

export function runPasses(graph: Graph): Graph {
  const result = fuseActivations(foldBatchNorm(removeIdentities(graph)));
  verifyGraph(result);
  return result;
}
