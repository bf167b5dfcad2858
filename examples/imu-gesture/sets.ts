// The example's data sets: training (calibration is drawn from it) and test gestures from fixed seeds.

import { type GestureSet, generateGestures } from './data.ts';

export const TRAIN_SET = (): GestureSet => generateGestures(1500, 1);
export const TEST_SET = (): GestureSet => generateGestures(1000, 2);
