// gemmlowp's fixed-point transcendental functions on int32 raw values, as TFLite's softmax,
// logistic and tanh kernels use them. A value with `integerBits` integer bits stands for
// raw / 2^(31 - integerBits) (gemmlowp's FixedPoint<int32_t, integerBits>). Results are Q0.31.
// Additions wrap in 32 bits where gemmlowp uses plain int32 additions.

import { INT32_MAX, INT32_MIN, roundingDivideByPOT, saturatingRoundingDoublingHighMul as mul } from './fixedpoint.ts';

/** x * 2^exponent with the exponent fixed: saturating for left shifts, rounding for right shifts. */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent <= 0) return roundingDivideByPOT(x, -exponent);
  const threshold = 2 ** (31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * 2 ** exponent;
}

/** Changes a raw value from `from` to `to` integer bits. */
export function rescale(x: number, from: number, to: number): number {
  return saturatingRoundingMultiplyByPOT(x, from - to);
}

/** (a + b) / 2 rounded half away from zero, on the exact sum. */
export function roundingHalfSum(a: number, b: number): number {
  const sum = a + b;
  return Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
}

const ONE_Q0 = INT32_MAX;

/** exp(a) for a in [-1/4, 0), Q0 in and out: a 4th-order Taylor expansion around -1/8. */
function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const expMinusOneEighth = 1895147668;
  const oneThird = 715827883;
  const x = (a + (1 << 28)) | 0;
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  const x4 = mul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT((mul((x4Over4 + x3) | 0, oneThird) + x2) | 0, 1);
  return (expMinusOneEighth + mul(expMinusOneEighth, (x + poly) | 0)) | 0;
}

/** exp(-2^k) in Q0 for k = -2..4, the factors of gemmlowp's barrel shifter. */
const EXP_OF_MINUS_POWERS_OF_TWO: [number, number][] = [
  [-2, 1672461947],
  [-1, 1302514674],
  [0, 790015084],
  [1, 290630308],
  [2, 39332535],
  [3, 720401],
  [4, 242],
];

/** exp(a) for a <= 0 with `integerBits` integer bits (gemmlowp exp_on_negative_values). */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  // Split a into a multiple of 1/4 and a remainder in [-1/4, 0).
  const aModQuarterMinusOneQuarter = ((a & (oneQuarter - 1)) - oneQuarter) | 0;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(rescale(aModQuarterMinusOneQuarter, integerBits, 0));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (const [k, factor] of EXP_OF_MINUS_POWERS_OF_TWO) {
    if (integerBits > k && remainder & (1 << (fractionalBits + k))) result = mul(result, factor);
  }
  // Below -32 the result is flushed to zero (only representable with more than 5 integer bits).
  if (integerBits > 5 && a < -(1 << (36 - integerBits))) result = 0;
  return a === 0 ? ONE_Q0 : result;
}

/**
 * Three Newton-Raphson steps for 1 / halfDenominator, with halfDenominator (Q0) in [1/2, 1):
 * the result has 2 integer bits. Starting point 48/17 - 32/17 * d, as gemmlowp chooses it.
 */
function reciprocalOfHalfDenominator(halfDenominator: number): number {
  const fortyEightSeventeenths = 1515870810;
  const minusThirtyTwoSeventeenths = -1010580540;
  const oneQ2 = 1 << 29;
  let x = (fortyEightSeventeenths + mul(halfDenominator, minusThirtyTwoSeventeenths)) | 0;
  for (let i = 0; i < 3; i++) {
    const oneMinusDx = (oneQ2 - mul(halfDenominator, x)) | 0;
    x = (x + rescale(mul(x, oneMinusDx), 4, 2)) | 0;
  }
  return x;
}

/** 1 / (1 + a) for a in [0, 1), Q0 in and out. */
export function oneOverOnePlusXForXIn01(a: number): number {
  // x / 2 in Q2 is the same raw value read with one integer bit.
  return rescale(reciprocalOfHalfDenominator(roundingHalfSum(a, ONE_Q0)), 1, 0);
}

/** (1 - a) / (1 + a) for a in [0, 1), Q0 in and out. */
export function oneMinusXOverOnePlusXForXIn01(a: number): number {
  return rescale((reciprocalOfHalfDenominator(roundingHalfSum(a, ONE_Q0)) - (1 << 29)) | 0, 2, 0);
}

/** 1 / (1 + exp(-a)) with `integerBits` integer bits in, Q0 out (gemmlowp logistic). */
export function logistic(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30;
  const magnitude = a > 0 ? a : -a | 0;
  const ofMagnitude = oneOverOnePlusXForXIn01(expOnNegativeValues(-magnitude | 0, integerBits));
  return a > 0 ? ofMagnitude : (ONE_Q0 - ofMagnitude) | 0;
}

/** tanh(a) with `integerBits` integer bits in, Q0 out (gemmlowp tanh). */
export function tanh(a: number, integerBits: number): number {
  if (a === 0) return 0;
  const negativeMagnitude = a < 0 ? a : -a | 0;
  // exp(2n): doubling the value is exact by reading the raw bits with one more integer bit.
  const t = oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(negativeMagnitude, integerBits + 1));
  return a < 0 ? -t | 0 : t;
}

/**
 * TFLite's GetInvSqrtQuantizedMultiplierExp: 1 / sqrt(input) for an int32 input as a Q0.31
 * multiplier and a shift (times `reverseShift`), by five Newton-Raphson steps in Q3.28. Inputs 0
 * and 1 give INT32_MAX and 0.
 */
export function invSqrtQuantizedMultiplierExp(input: number, reverseShift: number): { multiplier: number; shift: number } {
  if (input <= 1) return { multiplier: INT32_MAX, shift: 0 };
  let shift = 11;
  while (input >= 1 << 29) {
    input = Math.trunc(input / 4);
    shift++;
  }
  const pairs = Math.floor((Math.clz32(input) - 1) / 2) - 1;
  shift -= pairs;
  const scaled = input << (2 * pairs);
  const halfInput = saturatingRoundingMultiplyByPOT(scaled >> 1, -1);
  const halfThree = (1 << 28) + (1 << 27);
  let x = 1 << 28; // 1.0 in Q3.28
  for (let i = 0; i < 5; i++) {
    const x3 = rescale(mul(mul(x, x), x), 9, 3);
    x = rescale((mul(halfThree, x) - mul(halfInput, x3)) | 0, 6, 3);
  }
  let multiplier = mul(x, 1518500250); // times sqrt(2) / 2 in Q0.31
  if (shift < 0) {
    multiplier = multiplier << -shift;
    shift = 0;
  }
  return { multiplier, shift: shift * reverseShift };
}

/** a + b clamped to int32 (TFLite's SaturatingAddNonGemmlowp; with -b its SaturatingSub). */
const saturatingAdd = (a: number, b: number): number => Math.min(INT32_MAX, Math.max(INT32_MIN, a + b));

/**
 * log(x) for x >= 1 with `inputIntegerBits` integer bits in and `outputIntegerBits` out (TFLite's
 * log_x_for_x_greater_than_or_equal_to_1): x = 2^z * r with r normalised twice (once as it is,
 * once times sqrt(1/2)) and the closer one kept, then log(r) from a rational approximation around
 * 2^(-1/4), in Q0.31 with one spare integer bit for the sum.
 */
export function logXForXGreaterThanOrEqualTo1(x: number, inputIntegerBits: number, outputIntegerBits: number): number {
  // log(2), sqrt(sqrt(1/2)), sqrt(1/2) and the approximation's coefficients, Q0.31.
  const [log2, sqrtSqrtHalf, sqrtHalf] = [1488522236, 1805811301, 1518500250];
  const [alphaN, alphaD, alphaI, alphaF] = [117049297, 127690142, 1057819769, 638450708];
  const accumBits = outputIntegerBits + 1;
  const shiftedQuarter = rescale(1 << 29, 0, accumBits);
  const aHeadroomPlus1 = Math.clz32(x);
  const rA = saturatingRoundingMultiplyByPOT(mul(saturatingRoundingMultiplyByPOT(x, aHeadroomPlus1 - 1), sqrtHalf), 1);
  const aPow2 = saturatingAdd(saturatingRoundingMultiplyByPOT(inputIntegerBits - aHeadroomPlus1, 31 - accumBits), shiftedQuarter);
  const bHeadroom = Math.clz32(mul(x, sqrtHalf)) - 1;
  const rB = saturatingRoundingMultiplyByPOT(x, bHeadroom);
  const bPow2 = saturatingAdd(saturatingRoundingMultiplyByPOT(inputIntegerBits - bHeadroom, 31 - accumBits), -shiftedQuarter);
  const r = Math.min(rA, rB);
  const pow2 = Math.max(aPow2, bPow2);
  const p = roundingHalfSum(r, sqrtSqrtHalf);
  const q = ((r - sqrtSqrtHalf) * 2) | 0;
  const square = mul(q, q);
  const num = (mul(q, r) + mul(mul(q, square), alphaN)) | 0;
  const denominatorMinusOne = (mul(p, (alphaI + q + mul(alphaD, square)) | 0) + mul(alphaF, q)) | 0;
  const reciprocal = oneOverOnePlusXForXIn01(denominatorMinusOne);
  return rescale((mul(pow2, log2) + mul(rescale(num, 0, accumBits), reciprocal)) | 0, accumBits, outputIntegerBits);
}
