/* Fixed-point helpers shared by every int8 kernel.
 *
 * Requantization follows TensorFlow Lite Micro's default build bit for bit: a saturating rounding
 * doubling high multiply, then a rounding divide by a power of two (two roundings, not one).
 * The host reference (src/lower/fixedpoint.ts) implements the same arithmetic; keep them in step.
 */
#ifndef EC_COMMON_H
#define EC_COMMON_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define EC_INLINE static inline __attribute__((always_inline))
#define EC_LIKELY(x) __builtin_expect(!!(x), 1)
#define EC_NOINLINE __attribute__((noinline))
#else
#define EC_INLINE static inline
#define EC_LIKELY(x) (x)
#define EC_NOINLINE
#endif

/* The DSP variants need SMLAD/SXTB16 (Cortex-M4, M7, M33 with the DSP extension). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP == 1
#define EC_USE_DSP 1
#include <arm_acle.h>
#else
#define EC_USE_DSP 0
#endif

EC_INLINE int32_t ec_max_s32(int32_t a, int32_t b) { return a > b ? a : b; }
EC_INLINE int32_t ec_clamp_s32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* (a * b + 2^30) / 2^31 with the rounding of ARM's VQRDMULH; INT32_MIN * INT32_MIN saturates.
 * TFLite nudges negative products by 1 - 2^30 and truncates toward zero; that equals adding 2^30
 * and flooring, which an arithmetic shift of the 64-bit sum does without a division. */
EC_INLINE int32_t ec_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
EC_INLINE int32_t ec_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((UINT32_C(1) << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* (a * b + 2^31) >> 32: the rounded high word of the product (ARM's SMMULR). */
EC_INLINE int32_t ec_smmulr(int32_t a, int32_t b)
{
#if EC_USE_DSP
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + (INT64_C(1) << 31)) >> 32);
#endif
}

/* ec_requantize when shift < 0 and -2^30 <= acc < 2^30 (the common case), in fewer steps with the
 * same result: ec_srdhm(acc, m) is then ec_smmulr(2 * acc, m), one instruction, and rounding x / 2^r
 * half away from zero is ((((x - (x < 0)) >> (r - 1)) + 1) >> 1), which cannot overflow here.
 * Plus an offset z, given as zero_point2 = 2 * z + 1: (v + 1) / 2 + z is (v + 2 * z + 1) / 2 in
 * integer halving, so the offset costs no instruction; and given inv_shift = ~shift = r - 1, which
 * generated code stores so that the device does not compute it for every output. */
EC_INLINE int32_t ec_requantize_fast_offset(int32_t acc, int32_t multiplier, int32_t inv_shift, int32_t zero_point2)
{
    const int32_t x = ec_smmulr(acc * 2, multiplier);
    return (((x + (x >> 31)) >> inv_shift) + zero_point2) >> 1;
}

EC_INLINE int32_t ec_requantize_fast(int32_t acc, int32_t multiplier, int32_t shift)
{
    return ec_requantize_fast_offset(acc, multiplier, ~shift, 1);
}

/* acc * multiplier * 2^(shift - 31): TFLite's MultiplyByQuantizedMultiplier. shift in [-31, 31];
 * a left shift wraps in 32 bits as TFLite's does (done unsigned so it is defined behaviour). */
EC_INLINE int32_t ec_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    if (EC_LIKELY(shift < 0 && (uint32_t)acc + 0x40000000u < 0x80000000u)) return ec_requantize_fast(acc, multiplier, shift);
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return ec_rdbpot(ec_srdhm((int32_t)((uint32_t)acc << left), multiplier), right);
}

/* TFLite's MultiplyByQuantizedMultiplier for the 64-bit sums of the 16x8 kernels: the multiplier
 * rounded to 16 bits (0x7FFF at most), then one rounding shift right by 15 - shift. shift in
 * [-31, 7] and |acc| < 2^47 (the generator checks the shift), so nothing overflows. */
EC_INLINE int32_t ec_requantize_s64(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total = 15 - shift;
    return (int32_t)(uint32_t)(uint64_t)((acc * reduced + ((int64_t)1 << (total - 1))) >> total);
}

/* Requantize, add the output zero point and clamp to the fused activation's range. */
EC_INLINE int8_t ec_requantize_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                                  int32_t act_min, int32_t act_max)
{
    return (int8_t)ec_clamp_s32(ec_requantize(acc, multiplier, shift) + zero_point, act_min, act_max);
}

/* Packed 16-bit arithmetic: two int16 lanes in one 32-bit word, low lane first. On a core with the
 * DSP extension each helper is one instruction; elsewhere it is plain C with the same result, so
 * kernels written with them are portable and can be tested (with sanitizers) on any host. */

/* Four bytes from any address (the Cortex-M4 LDR allows unaligned addresses; memcpy says so to C). */
EC_INLINE int32_t ec_load4(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

EC_INLINE void ec_store4(void *p, int32_t v) { memcpy(p, &v, 4); }

/* A word that may alias data of any type: reads of int8 or int16 arrays four bytes at a time from
 * word-aligned addresses, which the compiler may pair into LDRD or LDM. */
#if defined(__GNUC__) || defined(__clang__)
typedef int32_t __attribute__((may_alias)) ec_word;
#else
typedef int32_t ec_word;
#endif

/* Kernels may use GCC inline assembly for ARMv7E-M (Cortex-M4, M7): where LDM, which fills its
 * registers in ascending order, needs registers of the assembler's choosing. */
#if defined(__ARM_ARCH_7EM__) && defined(__GNUC__) && !defined(__clang__)
#define EC_ASM_V7EM 1
#else
#define EC_ASM_V7EM 0
#endif

/* Two words of constant data (weights) from a word-aligned address, *w advanced past them: one LDRD
 * with post-increment on the DSP cores (gcc splits 64-bit loads into two LDRs for the Cortex-M4). */
EC_INLINE void ec_load_words2(const ec_word **w, int32_t *lo, int32_t *hi)
{
#if defined(__ARM_ARCH_7EM__) && defined(__GNUC__)
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(*lo), "=r"(*hi), "+r"(*w));
#else
    *lo = (*w)[0];
    *hi = (*w)[1];
    *w += 2;
#endif
}

#if EC_USE_DSP
/* Bytes 0 and 2 of x sign-extended into the two lanes. */
EC_INLINE int32_t ec_sxtb16(int32_t x) { return __sxtb16(x); }
/* Bytes 1 and 3 of x sign-extended into the two lanes (in asm: gcc does not fold the rotate itself). */
EC_INLINE int32_t ec_sxtb16_odd(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* Bytes 0 and 2 of x sign-extended and added to the lanes of pair (lanes wrap). */
EC_INLINE int32_t ec_sxtab16(int32_t pair, int32_t x) { return __sxtab16(pair, x); }
/* Bytes 1 and 3 of x sign-extended and added to the lanes of pair. */
EC_INLINE int32_t ec_sxtab16_odd(int32_t pair, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(pair), "r"(x));
    return r;
}
/* acc + lo(a) * lo(b) + hi(a) * hi(b), wrapping. */
EC_INLINE int32_t ec_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
EC_INLINE int32_t ec_smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
EC_INLINE int32_t ec_smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
EC_INLINE int32_t ec_smlabt(int32_t a, int32_t b, int32_t acc) { return __smlabt(a, b, acc); }
EC_INLINE int32_t ec_smlatb(int32_t a, int32_t b, int32_t acc) { return __smlatb(a, b, acc); }
/* The low lanes of a and b, (lo a, lo b): PKHBT. */
EC_INLINE int32_t ec_pack_lo(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* The high lanes of a and b, (hi a, hi b): PKHTB. */
EC_INLINE int32_t ec_pack_hi(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}
#else
EC_INLINE int32_t ec_lane_lo(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x & 0xffffu); }
EC_INLINE int32_t ec_lane_hi(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x >> 16); }
EC_INLINE int32_t ec_pack16(int32_t lo, int32_t hi) { return (int32_t)(((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16)); }
EC_INLINE int32_t ec_sxtb16(int32_t x) { return ec_pack16((int8_t)(uint8_t)x, (int8_t)(uint8_t)((uint32_t)x >> 16)); }
EC_INLINE int32_t ec_sxtb16_odd(int32_t x) { return ec_sxtb16((int32_t)((uint32_t)x >> 8)); }
EC_INLINE int32_t ec_sxtab16(int32_t pair, int32_t x)
{
    return ec_pack16(ec_lane_lo(pair) + (int8_t)(uint8_t)x, ec_lane_hi(pair) + (int8_t)(uint8_t)((uint32_t)x >> 16));
}
EC_INLINE int32_t ec_sxtab16_odd(int32_t pair, int32_t x) { return ec_sxtab16(pair, (int32_t)((uint32_t)x >> 8)); }
/* Sums in uint32_t: the instructions wrap, and so must their stand-ins (without undefined behaviour). */
EC_INLINE int32_t ec_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(ec_lane_lo(a) * ec_lane_lo(b)) + (uint32_t)(ec_lane_hi(a) * ec_lane_hi(b)));
}
EC_INLINE int32_t ec_smlabb(int32_t a, int32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(ec_lane_lo(a) * ec_lane_lo(b))); }
EC_INLINE int32_t ec_smlatt(int32_t a, int32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(ec_lane_hi(a) * ec_lane_hi(b))); }
EC_INLINE int32_t ec_smlabt(int32_t a, int32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(ec_lane_lo(a) * ec_lane_hi(b))); }
EC_INLINE int32_t ec_smlatb(int32_t a, int32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(ec_lane_hi(a) * ec_lane_lo(b))); }
EC_INLINE int32_t ec_pack_lo(int32_t a, int32_t b) { return ec_pack16(ec_lane_lo(a), ec_lane_lo(b)); }
EC_INLINE int32_t ec_pack_hi(int32_t a, int32_t b) { return ec_pack16(ec_lane_hi(a), ec_lane_hi(b)); }
#endif

/* v clamped to [-128, 127]: one SSAT on the DSP, which also folds in an arithmetic shift of v. */
#if EC_USE_DSP
EC_INLINE int8_t ec_sat_s8(int32_t v) { return (int8_t)__ssat(v, 8); }
#else
EC_INLINE int8_t ec_sat_s8(int32_t v) { return (int8_t)ec_clamp_s32(v, -128, 127); }
#endif

/* (acc * 2^32 + a * b + 2^31) >> 32: ARM's SMMLAR, the rounded high word of a product plus acc. */
EC_INLINE int32_t ec_smmlar(int32_t a, int32_t b, int32_t acc)
{
#if EC_USE_DSP
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return (int32_t)(uint32_t)((uint64_t)(((int64_t)a * b + (INT64_C(1) << 31)) >> 32) + (uint32_t)acc);
#endif
}

/* Requantization in one multiply for kernels whose accumulators come out doubled (their weights and
 * bias are stored times two), given per channel q = {multiplier m, rz = (2z + 1) * 2^(r - 1), r} for
 * a right shift r in [1, 21] and output zero point z. The generator uses it only where, as for
 * ec_requantize_fast, every |acc| < 2^30. Then ec_smmlar(2 acc, m, rz) = rz + x with x = ec_srdhm(acc, m)
 * exactly, and TFLite's rounding of x / 2^r half away from zero, plus z, is (x + rz - (x < 0)) >> r.
 * x < 0 implies acc < 0, and acc < 0 with x >= 0 means x = 0, where the - 1 changes nothing; so the
 * correction may test acc instead (`fix`). It may be left out altogether (fix = 0) when the
 * activation's lower bound is at least z: a negative acc gives at most z either way, and is clamped
 * to that bound. |rz + x| < 2^29 + 2^30: no overflow. */
EC_INLINE int32_t ec_requantize2(int32_t acc2, const int32_t *q, int32_t fix)
{
    int32_t t = ec_smmlar(acc2, q[0], q[1]);
    if (fix) t += acc2 >> 31;
    return t >> q[2];
}

/* ec_requantize2 clamped: with `full` (a constant) to the int8 range in one SSAT, else to [lo, hi]. */
EC_INLINE int8_t ec_output2(int32_t acc2, const int32_t *q, int32_t fix, int32_t full, int32_t lo, int32_t hi)
{
    const int32_t y = ec_requantize2(acc2, q, fix);
    return full ? ec_sat_s8(y) : (int8_t)ec_clamp_s32(y, lo, hi);
}

/* acc + a * b, wrapping like the accumulators of the packed helpers. */
EC_INLINE int32_t ec_mla(int32_t a, int32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(a * b)); }

/* acc + the sum over c < n of (x[c] + x_offset) * (y[c] + y_offset), wrapping as TFLite's int32
 * accumulators do; offsets in [-255, 255] so that each offset value fits a halfword. */
EC_INLINE int32_t ec_dot_offsets_s8(const int8_t *x, const int8_t *y, int32_t n, int32_t x_offset, int32_t y_offset, int32_t acc)
{
    int32_t c = 0;
#if EC_USE_DSP
    /* Four values a time: each offset added to two lanes of bytes by SXTAB16, SMLAD on the pairs. */
    const int32_t x_offsets = (int32_t)(((uint32_t)x_offset & 0xffffu) | ((uint32_t)x_offset << 16));
    const int32_t y_offsets = (int32_t)(((uint32_t)y_offset & 0xffffu) | ((uint32_t)y_offset << 16));
    for (; c + 4 <= n; c += 4) {
        const int32_t xs = ec_load4(x + c);
        const int32_t ys = ec_load4(y + c);
        acc = ec_smlad(ec_sxtab16(x_offsets, xs), ec_sxtab16(y_offsets, ys), acc);
        acc = ec_smlad(ec_sxtab16_odd(x_offsets, xs), ec_sxtab16_odd(y_offsets, ys), acc);
    }
#endif
    for (; c < n; c++) acc = ec_mla((int32_t)x[c] + x_offset, (int32_t)y[c] + y_offset, acc);
    return acc;
}

/* Put at file scope before float kernels: TFLite rounds every product and every sum separately, so
 * a fused multiply-add (which -ffp-contract=fast, gcc's default outside strict ISO modes, emits on
 * an FPU that has one) would change results. */
#if defined(__clang__)
#define EC_NO_FP_CONTRACT _Pragma("STDC FP_CONTRACT OFF")
#elif defined(__GNUC__)
#define EC_NO_FP_CONTRACT _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define EC_NO_FP_CONTRACT
#endif

/* Fused activation bounds for float kernels. */
EC_INLINE float ec_clamp_f32(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

#endif /* EC_COMMON_H */
