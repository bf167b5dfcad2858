/* Softmax over the last axis.
 *
 * int8: TensorFlow Lite Micro's reference algorithm in gemmlowp fixed point. exp() of an input
 * depends only on its difference from the row maximum, an integer in [-255, 0], so the generator
 * computes those exps with the reference arithmetic and the device looks them up; what stays on
 * the device is the sum (Q12.19), its reciprocal (Newton-Raphson, as gemmlowp does it) and the
 * final scaling, all bit-exact with the reference.
 */
#include <math.h>
#include "ec_elementwise.h"

/* Sums of raw fixed-point values are plain 32-bit additions in the reference and wrap there;
 * unsigned arithmetic makes that wrap defined here. */
static int32_t wrapping_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* x * 2^exponent for 0 < exponent < 31, saturating (gemmlowp's SaturatingRoundingMultiplyByPOT). */
static int32_t saturating_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((UINT32_C(1) << (31 - exponent)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* (a + b) / 2 rounded half away from zero, on the exact sum. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. Three Newton-Raphson steps on the half
 * denominator d = (1 + a) / 2 in [1/2, 1), from gemmlowp's starting point 48/17 - 32/17 * d;
 * the iterate is Q2.29. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int32_t forty_eight_seventeenths = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t minus_thirty_two_seventeenths = -1010580540; /* -32/17 in Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    int32_t x = wrapping_add(forty_eight_seventeenths, ec_srdhm(half_denominator, minus_thirty_two_seventeenths));
    for (int step = 0; step < 3; step++) {
        const int32_t one_minus_dx = wrapping_add(one_q2, -ec_srdhm(half_denominator, x));
        /* x * (1 - d x) is Q4.27: two bits up to Q2.29. */
        x = wrapping_add(x, saturating_shift_left(ec_srdhm(x, one_minus_dx), 2));
    }
    /* x / 2 in Q2.29 has the raw bits of x in Q1.30; one bit up to Q0.31. */
    return saturating_shift_left(x, 1);
}

/* Leading zero bits of x > 0. */
static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

/* The sum of exps has 12 integer bits; the generator rejects rows long enough to overflow it. */
#define EC_ACCUMULATOR_INTEGER_BITS 12

/* The row's maximum and its sum of exps in Q12.19, from the exps of the differences (Q0.31); depth >= 1. */
EC_INLINE int32_t row_exps(int32_t exp_count, const int32_t *exp_table, const int8_t *in, int32_t depth, int32_t *max_out)
{
    int32_t max = in[0];
    for (int32_t c = 1; c < depth; c++) max = in[c] > max ? in[c] : max;
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; c++) {
        const int32_t d = max - in[c];
        if (d < exp_count) sum = wrapping_add(sum, ec_rdbpot(exp_table[d], EC_ACCUMULATOR_INTEGER_BITS));
    }
    *max_out = max;
    return sum;
}

/* The row's maximum, and 1 / (sum of exps) as a Q0.31 reciprocal and the shift that takes
 * exp * reciprocal down to an output of `output_bits` fractional bits (32 or more: every output is
 * the lowest code). */
EC_INLINE void row_scale(const ec_softmax_s8_params *p, const int8_t *in, int32_t output_bits, int32_t *max_out, int32_t *reciprocal, int32_t *exponent)
{
    const int32_t sum = row_exps(p->exp_count, p->exp_table, in, p->depth, max_out);
    /* 1 / sum = 2^-bits_over_unit / (1 + x) with 1 + x = sum normalised into [1, 2). The row
     * maximum contributes exp(0), so sum >= 1.0 and bits_over_unit >= 0. */
    const int32_t headroom = count_leading_zeros((uint32_t)sum);
    const int32_t bits_over_unit = EC_ACCUMULATOR_INTEGER_BITS - headroom;
    *reciprocal = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) & 0x7fffffffu));
    /* exp / sum in Q0.31, down to the output's fractional bits. For int8 a sum of 512 or more
     * makes the shift 32 or more (TFLite Micro stops there): every probability is then below
     * 1/512, which rounds to 0, i.e. -128. */
    *exponent = bits_over_unit + 31 - output_bits;
}

void ec_softmax_s8(const ec_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t row = 0; row < p->rows; row++) {
        const int8_t *in = input + row * p->depth;
        int8_t *out = output + row * p->depth;
        int32_t max, reciprocal, exponent;
        row_scale(p, in, 8, &max, &reciprocal, &exponent);
        for (int32_t c = 0; c < p->depth; c++) {
            const int32_t d = max - in[c];
            out[c] = d < p->exp_count && exponent < 32 ? ec_sat_s8(ec_rdbpot(ec_srdhm(reciprocal, p->exp_table[d]), exponent) - 128) : -128;
        }
    }
}

void ec_softmax_s8_s16(const ec_softmax_s8_params *p, const int8_t *input, int16_t *output)
{
    for (int32_t row = 0; row < p->rows; row++) {
        const int8_t *in = input + row * p->depth;
        int16_t *out = output + row * p->depth;
        int32_t max, reciprocal, exponent;
        /* With 16 output bits the shift stays below 32 for every row the generator accepts. */
        row_scale(p, in, 16, &max, &reciprocal, &exponent);
        for (int32_t c = 0; c < p->depth; c++) {
            const int32_t d = max - in[c];
            out[c] = (int16_t)(d < p->exp_count ? ec_clamp_s32(ec_rdbpot(ec_srdhm(reciprocal, p->exp_table[d]), exponent) - 32768, -32768, 32767) : -32768);
        }
    }
}

/* x * 2^exponent for 0 <= exponent < 31, saturating. */
static int32_t saturating_shift_left0(int32_t x, int32_t exponent) { return exponent == 0 ? x : saturating_shift_left(x, exponent); }

/* a + b clamped to int32. */
static int32_t saturating_add(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return sum > INT32_MAX ? INT32_MAX : sum < INT32_MIN ? INT32_MIN : (int32_t)sum;
}

/* log(x) in Q5.26 of a sum of exps x >= 1 in Q12.19, as TFLite's log_x_for_x_greater_than_or_equal_to_1
 * computes it: x = 2^z * r with r normalised twice (as it is and times sqrt(1/2)) and the one
 * nearer 2^(-1/4) kept; log(r) from a rational approximation around it, summed in Q6.25. */
static int32_t log_q5_of_sum(int32_t x)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t accum_bits = 6;
    const int32_t shifted_quarter = ec_rdbpot((int32_t)1 << 29, accum_bits);
    const int32_t a_headroom_plus_1 = count_leading_zeros((uint32_t)x);
    const int32_t r_a = saturating_shift_left0(ec_srdhm(saturating_shift_left0(x, a_headroom_plus_1 - 1), sqrt_half), 1);
    const int32_t a_pow2 = saturating_add(saturating_shift_left(EC_ACCUMULATOR_INTEGER_BITS - a_headroom_plus_1, 31 - accum_bits), shifted_quarter);
    const int32_t b_headroom = count_leading_zeros((uint32_t)ec_srdhm(x, sqrt_half)) - 1;
    const int32_t r_b = saturating_shift_left0(x, b_headroom);
    const int32_t b_pow2 = saturating_add(saturating_shift_left(EC_ACCUMULATOR_INTEGER_BITS - b_headroom, 31 - accum_bits), -shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t pow2 = a_pow2 > b_pow2 ? a_pow2 : b_pow2;
    const int32_t p = rounding_half_sum(r, sqrt_sqrt_half);
    const int32_t q = (int32_t)(((uint32_t)r - (uint32_t)sqrt_sqrt_half) * 2u);
    const int32_t square = ec_srdhm(q, q);
    const int32_t num = wrapping_add(ec_srdhm(q, r), ec_srdhm(ec_srdhm(q, square), alpha_n));
    const int32_t denominator_minus_one =
        wrapping_add(ec_srdhm(p, wrapping_add(wrapping_add(alpha_i, q), ec_srdhm(alpha_d, square))), ec_srdhm(alpha_f, q));
    const int32_t reciprocal = one_over_one_plus_x(denominator_minus_one);
    return saturating_shift_left(wrapping_add(ec_srdhm(pow2, log_2), ec_srdhm(ec_rdbpot(num, accum_bits), reciprocal)), 1);
}

void ec_log_softmax_s8(const ec_log_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t row = 0; row < p->rows; row++) {
        const int8_t *in = input + row * p->depth;
        int8_t *out = output + row * p->depth;
        int32_t max;
        const int32_t log_sum = log_q5_of_sum(row_exps(p->count, p->exp_table, in, p->depth, &max));
        /* Differences at or below this are more than 2^5 below the log sum in Q5.26: output -128. */
        const int32_t reach = ec_requantize(wrapping_add(log_sum, INT32_MIN), p->reverse_multiplier, p->reverse_shift);
        const int32_t lowest = reach > p->diff_min - 1 ? reach : p->diff_min - 1;
        for (int32_t c = 0; c < p->depth; c++) {
            const int32_t diff = in[c] - max;
            /* Q5.26 less the log sum, down to Q4.4 steps (31 - 5 - 4 bits) below 127. */
            out[c] = diff > lowest ? ec_sat_s8(ec_rdbpot(wrapping_add(p->diff_table[-diff], -log_sum), 22) + 127) : -128;
        }
    }
}

void ec_log_softmax_f32(int32_t rows, int32_t depth, const float *input, float *output)
{
    for (int32_t row = 0; row < rows; row++) {
        const float *in = input + row * depth;
        float *out = output + row * depth;
        float max = -3.40282347e38f;
        for (int32_t c = 0; c < depth; c++) max = max < in[c] ? in[c] : max;
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; c++) sum += ec_expf(in[c] - max);
        const float log_sum = (float)log((double)sum);
        for (int32_t c = 0; c < depth; c++) out[c] = (in[c] - max) - log_sum;
    }
}

void ec_softmax_f32(const ec_softmax_f32_params *p, const float *input, float *output)
{
    for (int32_t row = 0; row < p->rows; row++) {
        const float *in = input + row * p->depth;
        float *out = output + row * p->depth;
        float max = -3.40282347e38f;
        for (int32_t c = 0; c < p->depth; c++) max = max < in[c] ? in[c] : max;

        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; c++) {
            const float e = ec_expf((in[c] - max) * p->beta);
            out[c] = e;
            sum += e;
        }
        for (int32_t c = 0; c < p->depth; c++) out[c] = out[c] / sum;
    }
}
