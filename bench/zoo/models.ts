// The four MLPerf Tiny architectures as TF.js layers models, reproduced from their published
// descriptions (the MLPerf Tiny paper and benchmark documentation), with seeded initialisers:
//   ResNet-8  image classification: 32x32x3, a 3x3 conv of 16 filters, three residual stages of
//             16, 32 and 64 filters (the last two with stride 2 and a 1x1 conv shortcut), average
//             pooling, dense 10.
//   DS-CNN    keyword spotting: 49x10x1, a 10x4 conv of 64 filters at stride 2, four depthwise-
//             separable blocks of 64 channels, average pooling, dense 12 (10 here: the classes of
//             the data it is trained on).
//   MobileNetV1 0.25  visual wake words: 96x96x3 in the benchmark (any size here),
//             width multiplier 0.25, 13 depthwise-separable blocks, average pooling, dense 2.
//   FC autoencoder  anomaly detection: 640 inputs, four dense 128, a dense 8 bottleneck, four
//             dense 128 (each with batch norm and ReLU), dense 640.
// Every convolution and hidden dense layer is followed by batch normalization and ReLU, as in
// the benchmark's models; the compiler folds the batch norms at import.

import * as tf from '@tensorflow/tfjs-layers';

export type ZooModelName = 'resnet8' | 'ds-cnn' | 'mobilenet-v1-0.25' | 'fc-autoencoder';

/** Seeded initialisers, one seed per layer (a shared seed would start equal-shaped layers alike). */
class Seeds {
  constructor(private next: number) {}
  he() {
    return tf.initializers.heNormal({ seed: this.next++ });
  }
  glorot() {
    return tf.initializers.glorotUniform({ seed: this.next++ });
  }
}

// tfjs's default momentum (0.99) leaves the moving statistics behind the weights after a short
// training run (FACTS.md): 0.9 keeps inference mode close to training mode.
const bn = (name: string) => tf.layers.batchNormalization({ name, momentum: 0.9 });
const relu = (name: string) => tf.layers.reLU({ name });
type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;

export function resnet8(seed = 1, classes = 10): tf.LayersModel {
  const s = new Seeds(seed);
  const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
    tf.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', kernelInitializer: s.he() });
  const input = tf.input({ shape: [32, 32, 3], name: 'input' });
  let x = apply(relu('relu0'), apply(bn('bn0'), apply(conv('conv0', 16, 3, 1), input)));
  [16, 32, 64].forEach((filters, k) => {
    const stage = `s${k + 1}`;
    const strides = k === 0 ? 1 : 2;
    let y = apply(relu(`${stage}_relu1`), apply(bn(`${stage}_bn1`), apply(conv(`${stage}_conv1`, filters, 3, strides), x)));
    y = apply(bn(`${stage}_bn2`), apply(conv(`${stage}_conv2`, filters, 3, 1), y));
    // The first stage keeps the shape; the others project the shortcut with a strided 1x1 conv.
    const shortcut = k === 0 ? x : apply(conv(`${stage}_shortcut`, filters, 1, strides), x);
    x = apply(relu(`${stage}_relu2`), apply(tf.layers.add({ name: `${stage}_add` }), [y, shortcut]));
  });
  x = apply(tf.layers.averagePooling2d({ name: 'pool', poolSize: 8 }), x);
  x = apply(tf.layers.flatten({ name: 'flatten' }), x);
  const output = apply(tf.layers.dense({ name: 'logits', units: classes, activation: 'softmax', kernelInitializer: s.glorot() }), x);
  return tf.model({ name: 'resnet8', inputs: input, outputs: output });
}

export function dsCnn(seed = 1, classes = 12): tf.LayersModel {
  const s = new Seeds(seed);
  const input = tf.input({ shape: [49, 10, 1], name: 'input' });
  let x = apply(tf.layers.conv2d({ name: 'conv0', filters: 64, kernelSize: [10, 4], strides: 2, padding: 'same', kernelInitializer: s.he() }), input);
  x = apply(relu('relu0'), apply(bn('bn0'), x));
  x = apply(tf.layers.dropout({ name: 'drop0', rate: 0.2 }), x);
  for (let k = 1; k <= 4; k++) {
    x = apply(tf.layers.depthwiseConv2d({ name: `dw${k}`, kernelSize: 3, padding: 'same', depthwiseInitializer: s.he() }), x);
    x = apply(relu(`dw${k}_relu`), apply(bn(`dw${k}_bn`), x));
    x = apply(tf.layers.conv2d({ name: `pw${k}`, filters: 64, kernelSize: 1, kernelInitializer: s.he() }), x);
    x = apply(relu(`pw${k}_relu`), apply(bn(`pw${k}_bn`), x));
  }
  x = apply(tf.layers.dropout({ name: 'drop1', rate: 0.4 }), x);
  x = apply(tf.layers.averagePooling2d({ name: 'pool', poolSize: [25, 5] }), x);
  x = apply(tf.layers.flatten({ name: 'flatten' }), x);
  const output = apply(tf.layers.dense({ name: 'logits', units: classes, activation: 'softmax', kernelInitializer: s.glorot() }), x);
  return tf.model({ name: 'ds_cnn', inputs: input, outputs: output });
}

/** Pointwise filters and depthwise strides of MobileNetV1's 13 blocks at width 1. */
const MOBILENET_BLOCKS: [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

export function mobilenetV1(seed = 1, size = 96, alpha = 0.25, classes = 2): tf.LayersModel {
  const s = new Seeds(seed);
  const input = tf.input({ shape: [size, size, 3], name: 'input' });
  let x = apply(tf.layers.conv2d({ name: 'conv0', filters: Math.round(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: s.he() }), input);
  x = apply(relu('relu0'), apply(bn('bn0'), x));
  MOBILENET_BLOCKS.forEach(([filters, strides], i) => {
    const k = i + 1;
    x = apply(tf.layers.depthwiseConv2d({ name: `dw${k}`, kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: s.he() }), x);
    x = apply(relu(`dw${k}_relu`), apply(bn(`dw${k}_bn`), x));
    x = apply(tf.layers.conv2d({ name: `pw${k}`, filters: Math.round(filters * alpha), kernelSize: 1, useBias: false, kernelInitializer: s.he() }), x);
    x = apply(relu(`pw${k}_relu`), apply(bn(`pw${k}_bn`), x));
  });
  x = apply(tf.layers.globalAveragePooling2d({ name: 'pool' }), x);
  const output = apply(tf.layers.dense({ name: 'logits', units: classes, activation: 'softmax', kernelInitializer: s.glorot() }), x);
  return tf.model({ name: 'mobilenet_v1_025', inputs: input, outputs: output });
}

export function fcAutoencoder(seed = 1, inputs = 640): tf.LayersModel {
  const s = new Seeds(seed);
  const input = tf.input({ shape: [inputs], name: 'input' });
  let x = input;
  [128, 128, 128, 128, 8, 128, 128, 128, 128].forEach((units, i) => {
    x = apply(tf.layers.dense({ name: `dense${i + 1}`, units, kernelInitializer: s.glorot() }), x);
    x = apply(relu(`relu${i + 1}`), apply(bn(`bn${i + 1}`), x));
  });
  const output = apply(tf.layers.dense({ name: 'reconstruction', units: inputs, kernelInitializer: s.glorot() }), x);
  return tf.model({ name: 'fc_autoencoder', inputs: input, outputs: output });
}
