// The data pruning works on, shared by its stages: which channels stay, and the user's samples.

/**
 * Channels kept, per activation tensor whose channel axis (the last, NHWC) is pruned: indices
 * into the original tensor's channels, ascending. Tensors not in the map keep every channel. A
 * pruned graph keeps every op and tensor index of the original; only shapes and constants shrink,
 * so a tensor index names the same value in both.
 */
export type KeptChannels = Map<number, number[]>;

/** Samples of a float graph's inputs, and optional class labels, as pruning and recovery use them. */
export interface Dataset {
  /** Per graph input, `count` samples back to back ([count, ...shape], row-major). */
  inputs: Float32Array[];
  count: number;
  /** Class index per sample, when the user gave labels. */
  labels?: Int32Array;
}
