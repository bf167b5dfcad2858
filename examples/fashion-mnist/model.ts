// The example's CNN: small enough to train on tfjs's cpu backend in minutes and to fit a Cortex-M
// with room to spare, and built from the layer kinds edgec imports (convolution, batch norm, ReLU,
// depthwise convolution with ReLU6, pooling, dropout, dense with softmax) so that the example
// exercises each of them.

import * as tf from '@tensorflow/tfjs-layers';
import { IMAGE_SIZE } from './data.ts';

/**
 * Every weight initialiser gets its own seed (seed, seed + 1, ...): one shared seed would start
 * layers of equal shape with identical weights.
 */
export function buildModel(seed: number): tf.Sequential {
  let next = seed;
  const kernel = () => tf.initializers.heNormal({ seed: next++ });
  return tf.sequential({
    name: 'fashion_cnn',
    layers: [
      // Stride 2 at once: the later layers then run on 14x14, which is where training time goes.
      tf.layers.conv2d({ name: 'conv1', inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: kernel() }),
      // tfjs's default momentum (0.99) leaves the moving statistics far behind the weights after a
      // few hundred steps, and the model then fails in inference mode.
      tf.layers.batchNormalization({ name: 'bn1', momentum: 0.9 }),
      tf.layers.reLU({ name: 'relu1' }),
      tf.layers.depthwiseConv2d({ name: 'dw2', kernelSize: 3, padding: 'same', activation: 'relu6', depthwiseInitializer: kernel() }),
      tf.layers.conv2d({ name: 'pw2', filters: 16, kernelSize: 1, activation: 'relu', kernelInitializer: kernel() }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv3', filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: kernel() }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dropout({ name: 'dropout', rate: 0.2 }),
      tf.layers.dense({ name: 'logits', units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: next++ }) }),
    ],
  });
}
