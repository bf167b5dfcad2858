// Synthetic accelerometer gestures, generated from a seed: a wrist-worn 3-axis accelerometer
// sampled at 50 Hz for 64 steps (1.28 s), in units of g. Each sample is gravity seen from a
// randomly tilted sensor, plus the gesture's own motion (rotated with the sensor), plus sensor
// noise and a small offset. Every gesture varies in speed, amplitude, phase and timing, so that a
// model has to learn the shape of the motion rather than one template.
//   idle    the sensor at rest: gravity, a slow sway, noise;
//   wave    side to side along the sensor's x axis, 1.2-2.5 Hz, a little up and down at twice that;
//   circle  a circle in the x-y plane, 0.7-1.4 Hz, either way round;
//   tap     one to three sharp, quickly damped knocks along z, at random times;
//   shake   fast (4-7 Hz), large, along a random direction, swelling and fading.

import { seededRandom } from '../../src/float/train.ts';

export const GESTURES = ['idle', 'wave', 'circle', 'tap', 'shake'] as const;
export const STEPS = 64;
export const AXES = 3;
export const RATE_HZ = 50;

export interface GestureSet {
  /** [count, STEPS, AXES], row-major, in g. */
  samples: Float32Array;
  labels: Uint8Array;
  count: number;
}

type Vec = [number, number, number];
type Motion = (t: number) => Vec;

/** A rotation by up to `maxDegrees` about each axis: how the sensor sits on the wrist. */
function tilt(random: () => number, maxDegrees: number): (v: Vec) => Vec {
  const angle = () => ((random() * 2 - 1) * maxDegrees * Math.PI) / 180;
  const [a, b, c] = [angle(), angle(), angle()];
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  return ([x, y, z]) => {
    const [x1, y1] = [x * cc - y * sc, x * sc + y * cc];
    const [x2, z2] = [x1 * cb + z * sb, -x1 * sb + z * cb];
    return [x2, y1 * ca - z2 * sa, y1 * sa + z2 * ca];
  };
}

const between = (random: () => number, lo: number, hi: number) => lo + (hi - lo) * random();

/** Standard normal values (Box-Muller). */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const MOTIONS: Record<(typeof GESTURES)[number], (random: () => number) => Motion> = {
  idle: (random) => {
    const [f, p, a] = [between(random, 0.1, 0.4), between(random, 0, 2 * Math.PI), between(random, 0.01, 0.05)];
    return (t) => [a * Math.sin(2 * Math.PI * f * t + p), a * Math.cos(2 * Math.PI * f * t + p), 0];
  },
  wave: (random) => {
    const [f, p, a] = [between(random, 1.2, 2.5), between(random, 0, 2 * Math.PI), between(random, 0.4, 1.0)];
    return (t) => [a * Math.sin(2 * Math.PI * f * t + p), 0, 0.2 * a * Math.sin(4 * Math.PI * f * t + 2 * p)];
  },
  circle: (random) => {
    const [f, p, a] = [between(random, 0.7, 1.4), between(random, 0, 2 * Math.PI), between(random, 0.3, 0.8)];
    const way = random() < 0.5 ? -1 : 1;
    return (t) => [a * Math.sin(2 * Math.PI * f * t + p), way * a * Math.cos(2 * Math.PI * f * t + p), 0];
  },
  tap: (random) => {
    const taps = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ at: between(random, 0.05, 1.15), a: between(random, 1.0, 2.5) * (random() < 0.5 ? -1 : 1) }));
    const [ring, decay] = [between(random, 10, 16), between(random, 0.02, 0.05)];
    return (t) => {
      let z = 0;
      for (const { at, a } of taps) if (t >= at) z += a * Math.exp(-(t - at) / decay) * Math.cos(2 * Math.PI * ring * (t - at));
      return [0.1 * z, 0.1 * z, z];
    };
  },
  shake: (random) => {
    const [f, p, a] = [between(random, 4, 7), between(random, 0, 2 * Math.PI), between(random, 0.8, 2.0)];
    const direction = tilt(random, 180)([1, 0, 0]);
    const [start, length] = [between(random, 0, 0.4), between(random, 0.6, 1.0)];
    return (t) => {
      const envelope = t < start || t > start + length ? 0 : Math.sin((Math.PI * (t - start)) / length);
      const v = a * envelope * Math.sin(2 * Math.PI * f * t + p);
      return [v * direction[0], v * direction[1], v * direction[2]];
    };
  },
};

/**
 * `count` gestures, the classes in turn (so every class has count / 5 samples, give or take one),
 * shuffled; the same seed gives the same set.
 */
export function generateGestures(count: number, seed: number): GestureSet {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const samples = new Float32Array(count * STEPS * AXES);
  const labels = new Uint8Array(count);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let i = 0; i < count; i++) {
    const label = order[i] % GESTURES.length;
    labels[i] = label;
    const rotate = tilt(random, 25);
    const motion = MOTIONS[GESTURES[label]](random);
    const gravity = rotate([0, 0, 1]);
    const noise = between(random, 0.02, 0.08);
    const offset: Vec = [normal() * 0.03, normal() * 0.03, normal() * 0.03];
    for (let s = 0; s < STEPS; s++) {
      const moved = rotate(motion(s / RATE_HZ));
      for (let a = 0; a < AXES; a++) samples[(i * STEPS + s) * AXES + a] = gravity[a] + moved[a] + offset[a] + noise * normal();
    }
  }
  return { samples, labels, count };
}
