// Integer requantization primitives with TFLite Micro's exact rounding (its default build, i.e.
// without TFLITE_SINGLE_ROUNDING: a rounding doubling high multiply followed by a rounding
// right shift). Every function takes and returns int32 values held in JS numbers and is exact;
// 64-bit intermediate products are assembled from 16-bit halves so that no double ever holds
// more than 53 significant bits. The *16 variants reproduce the int16 instantiations that
// TFLite's hard-swish kernel uses, wrap-arounds included.

import { modelError } from '../ir/errors.ts';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const TWO_POW_31 = 2147483648;

/** C's round(): halves go away from zero (JS Math.round sends -2.5 to -2). */
export function roundHalfAwayFromZero(v: number): number {
  const t = Math.trunc(v);
  // v - t is exact for every finite double, so the tie test is too.
  return Math.abs(v - t) >= 0.5 ? t + Math.sign(v) : t;
}

const frexpView = new DataView(new ArrayBuffer(8));

/** C's frexp for finite non-zero v: v = fraction * 2^exponent with 0.5 <= |fraction| < 1. */
export function frexp(v: number): { fraction: number; exponent: number } {
  frexpView.setFloat64(0, v);
  let biased = (frexpView.getUint16(0) >> 4) & 0x7ff;
  let scaled = v;
  let extra = 0;
  if (biased === 0) {
    // Subnormal: lift into the normal range first so the exponent field means something.
    scaled = v * 2 ** 64;
    extra = -64;
    frexpView.setFloat64(0, scaled);
    biased = (frexpView.getUint16(0) >> 4) & 0x7ff;
  }
  const exponent = biased - 1022;
  return { fraction: scaled * 2 ** -exponent, exponent: exponent + extra };
}

/**
 * TFLite's QuantizeMultiplier: real ~= multiplier * 2^(shift - 31), multiplier a Q0.31 value in
 * [2^30, 2^31) (or its negative), shift > 0 meaning a left shift. Zero gives {0, 0}; multipliers
 * below about 2^-31 flush to {0, 0} as TFLite does; a shift above 31 is returned as is and
 * callers that feed it to multiplyByQuantizedMultiplier must reject it.
 */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (!Number.isFinite(real)) throw modelError(`requantization multiplier ${real} is not a finite number`);
  if (real === 0) return { multiplier: 0, shift: 0 };
  const { fraction, exponent } = frexp(real);
  let q = roundHalfAwayFromZero(fraction * TWO_POW_31);
  let shift = exponent;
  if (q === TWO_POW_31) {
    q /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: q, shift };
}

/**
 * gemmlowp's SaturatingRoundingDoublingHighMul (ARM VQRDMULH): (a * b + 2^30) / 2^31 with the
 * nudge and truncation toward zero taken on the exact 64-bit product; INT32_MIN * INT32_MIN
 * saturates to INT32_MAX.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const negative = a < 0 !== b < 0;
  const ua = Math.abs(a);
  const ub = Math.abs(b);
  // |a*b| = high * 2^16 + low, both terms below 2^48 and so exact in a double.
  const high = ua * Math.floor(ub / 65536);
  const low = ua * (ub % 65536);
  // A positive product rounds half up; a negative one rounds half toward zero (then negated),
  // which is what adding 1 - 2^30 and truncating toward zero does to the signed product.
  const nudge = negative ? 1073741823 : 1073741824;
  const magnitude = Math.floor((high + Math.floor((low + nudge) / 65536)) / 32768);
  return (negative ? -magnitude : magnitude) | 0; // | 0 turns -0 into 0
}

/** gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = exponent === 31 ? INT32_MAX : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite's MultiplyByQuantizedMultiplier(int32) in its default double-rounding form: the left
 * shift wraps in 32 bits exactly as the C code does, then a high multiply, then a rounding right
 * shift. shift in [-31, 31]. For shift <= 0 this is also MultiplyByQuantizedMultiplierSmallerThanOneExp
 * and for shift >= 0 MultiplyByQuantizedMultiplierGreaterThanOne.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 1 << leftShift), multiplier), rightShift);
}

/**
 * TFLite's MultiplyByQuantizedMultiplier(int64) of the 16x8 kernels' 64-bit accumulators: the
 * multiplier rounded to 16 bits (saturating at 0x7FFF), then one rounding right shift by
 * 15 - shift (floor of x * m + half), truncated to int32. `x` is an exact integer (|x| < 2^47).
 */
export function multiplyByQuantizedMultiplier64(x: number, multiplier: number, shift: number): number {
  const reduced = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const total = BigInt(15 - shift);
  return Number(BigInt.asIntN(32, (BigInt(x) * BigInt(reduced) + (1n << (total - 1n))) >> total));
}

/** Wraps an integer to int32 and then to int16, as a C assignment to int16_t does. */
const wrap16 = (v: number): number => (v << 16) >> 16;

/** gemmlowp's SaturatingRoundingDoublingHighMul on int16 values (VQRDMULH.S16). */
export function saturatingRoundingDoublingHighMul16(a: number, b: number): number {
  if (a === -32768 && b === -32768) return 32767;
  const ab = a * b;
  return wrap16(Math.trunc((ab + (ab >= 0 ? 16384 : -16383)) / 32768));
}

/** TFLite hard-swish's SaturatingDoublingHighMul on int16: like the rounding one but truncating (SQDMULH). */
export function saturatingDoublingHighMul16(a: number, b: number): number {
  if (a === -32768 && b === -32768) return 32767;
  return wrap16(Math.trunc((a * b) / 32768));
}

/**
 * gemmlowp's RoundingDivideByPOT instantiated on int16: mask, threshold and sum all wrap to 16
 * bits, so exponents of 16 and more give the C template's (odd) results rather than 0.
 */
export function roundingDivideByPOT16(x: number, exponent: number): number {
  const mask = exponent >= 16 ? -1 : wrap16((1 << exponent) - 1);
  const remainder = x & mask;
  const threshold = wrap16((mask >> 1) + (x < 0 ? 1 : 0));
  return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/** value * 2^amount saturated to int16 (TFLite hard-swish's SaturatingLeftShift); amount in [0, 30]. */
export function saturatingLeftShift16(value: number, amount: number): number {
  return Math.max(-32768, Math.min(32767, value * 2 ** amount));
}
