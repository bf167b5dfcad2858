// The example's gesture model: two 1-D convolutions pick out short motion patterns and shorten the
// sequence (64 -> 8 steps), an LSTM reads the 8 steps, a dense layer gives the five classes.
// About 3,000 parameters: it trains in a minute or two on tfjs's cpu backend.

import * as tf from '@tensorflow/tfjs-layers';
import { AXES, GESTURES, STEPS } from './data.ts';

/** Every initialiser its own seed (seed, seed + 1, ...); the LSTM's gates are sigmoids, as TFLite Micro runs them. */
export function buildModel(seed: number): tf.Sequential {
  let next = seed;
  const he = () => tf.initializers.heNormal({ seed: next++ });
  const glorot = () => tf.initializers.glorotUniform({ seed: next++ });
  return tf.sequential({
    name: 'imu_gesture',
    layers: [
      tf.layers.conv1d({ name: 'conv1', inputShape: [STEPS, AXES], filters: 12, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: he() }),
      tf.layers.maxPooling1d({ name: 'pool1', poolSize: 2 }),
      tf.layers.conv1d({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: he() }),
      tf.layers.maxPooling1d({ name: 'pool2', poolSize: 4 }),
      // tfjs's default recurrent initialiser (orthogonal) needs tfjs's chained ops; glorot trains as well here.
      tf.layers.lstm({ name: 'lstm', units: 16, recurrentActivation: 'sigmoid', kernelInitializer: glorot(), recurrentInitializer: glorot() }),
      tf.layers.dense({ name: 'gesture', units: GESTURES.length, activation: 'softmax', kernelInitializer: glorot() }),
    ],
  });
}
