/* Element-wise kernels: broadcasting binary ops, table lookups, float activations.
 *
 * int8 arithmetic is TensorFlow Lite Micro's reference arithmetic (ec_common.h). Float kernels
 * evaluate the same expressions as its float kernels, one float32 rounding per operation; exp and
 * tanh are computed in double and rounded once to float32, which is what the host reference does
 * (a C library's expf/tanhf are not rounded the same way on every platform).
 */
#include <math.h>
#include "ec_elementwise.h"

/* The body of a broadcasting binary kernel: for every output element in order, `expr` of the
 * input values x (from input1) and y (from input2) that the walk pairs with it. */
#define EC_BINARY_WALK(type, input1, input2, output, expr)             \
    do {                                                                \
        const int32_t count = w->dims[w->rank - 1];                     \
        const int32_t step1 = w->stride_a[w->rank - 1];                 \
        const int32_t step2 = w->stride_b[w->rank - 1];                 \
        ec_walk_pos pos;                                                \
        ec_walk_start(&pos);                                            \
        do {                                                            \
            const type *a = (input1) + pos.a;                           \
            const type *b = (input2) + pos.b;                           \
            for (int32_t i = 0; i < count; i++) {                       \
                const type x = a[i * step1];                            \
                const type y = b[i * step2];                            \
                (output)[i] = (expr);                                   \
            }                                                           \
            (output) += count;                                          \
        } while (ec_walk_next_row(w, &pos));                            \
    } while (0)

/* One row of ec_add_s8; `fast` and `fix` are constants in each copy the compiler makes. */
EC_INLINE void add_row(const ec_add_s8_params *p, const int32_t *t1, const int32_t *t2, const int8_t *a, int32_t step1, const int8_t *b,
                       int32_t step2, int8_t *out, int32_t count, int32_t fast, int32_t fix)
{
    /* In locals: the output's stores could alias *p, and the compiler would load them again for
     * every value. */
    const int32_t lo = p->activation_min, hi = p->activation_max;
    const int32_t q[3] = {p->requant[0], p->requant[1], p->requant[2]};
    const int32_t multiplier = p->output_multiplier, shift = p->output_shift, zero_point = p->output_zero_point;
    for (int32_t i = 0; i < count; i++) {
        const int32_t sum = t1[a[i * step1]] + t2[b[i * step2]];
        out[i] = fast ? (int8_t)ec_clamp_s32(ec_requantize2(sum, q, fix), lo, hi) : ec_requantize_s8(sum, multiplier, shift, zero_point, lo, hi);
    }
}

void ec_add_s8(const ec_add_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const int32_t count = w->dims[w->rank - 1];
    const int32_t step1 = w->stride_a[w->rank - 1];
    const int32_t step2 = w->stride_b[w->rank - 1];
    const int32_t *t1 = p->input1_table + 128, *t2 = p->input2_table + 128;
    ec_walk_pos pos;
    ec_walk_start(&pos);
    do {
        const int8_t *a = input1 + pos.a;
        const int8_t *b = input2 + pos.b;
        if (!p->fast) {
            add_row(p, t1, t2, a, step1, b, step2, output, count, 0, 0);
        } else if (p->fix) {
            add_row(p, t1, t2, a, step1, b, step2, output, count, 1, 1);
        } else {
            add_row(p, t1, t2, a, step1, b, step2, output, count, 1, 0);
        }
        output += count;
    } while (ec_walk_next_row(w, &pos));
}

/* (x - zero point) << 15, wrapping in 32 bits as the reference's int32 product does. */
EC_INLINE int32_t headroom_s16(int32_t x, int32_t zero_point) { return (int32_t)((uint32_t)(x - zero_point) << 15); }

EC_INLINE int16_t add_s16(const ec_add_s16_params *p, int32_t a, int32_t b)
{
    const int32_t x = ec_requantize(headroom_s16(a, p->input1_zero_point), p->input1_multiplier, p->input1_shift);
    const int32_t y = ec_requantize(headroom_s16(b, p->input2_zero_point), p->input2_multiplier, p->input2_shift);
    const int32_t sum = (int32_t)((uint32_t)x + (uint32_t)y);
    return (int16_t)ec_clamp_s32(ec_requantize(sum, p->output_multiplier, p->output_shift) + p->output_zero_point, p->activation_min,
                                 p->activation_max);
}

void ec_add_s16(const ec_add_s16_params *p, const ec_walk *w, const int16_t *input1, const int16_t *input2, int16_t *output)
{
    EC_BINARY_WALK(int16_t, input1, input2, output, add_s16(p, x, y));
}

EC_INLINE int8_t mul_s8(const ec_mul_s8_params *p, int32_t a, int32_t b)
{
    return ec_requantize_s8((a - p->input1_zero_point) * (b - p->input2_zero_point), p->output_multiplier, p->output_shift,
                            p->output_zero_point, p->activation_min, p->activation_max);
}

void ec_mul_s8(const ec_mul_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    EC_BINARY_WALK(int8_t, input1, input2, output, mul_s8(p, x, y));
}

typedef enum { BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV } binary_f32_op;

static void binary_f32(binary_f32_op op, const ec_binary_f32_params *p, const ec_walk *w, const float *input1,
                       const float *input2, float *output)
{
    const int32_t count = w->dims[w->rank - 1];
    const int32_t step1 = w->stride_a[w->rank - 1];
    const int32_t step2 = w->stride_b[w->rank - 1];
    ec_walk_pos pos;
    ec_walk_start(&pos);
    do {
        const float *a = input1 + pos.a;
        const float *b = input2 + pos.b;
        for (int32_t i = 0; i < count; i++) {
            const float x = a[i * step1];
            const float y = b[i * step2];
            const float v = op == BINARY_ADD ? x + y : op == BINARY_SUB ? x - y : op == BINARY_MUL ? x * y : x / y;
            output[i] = ec_clamp_f32(v, p->activation_min, p->activation_max);
        }
        output += count;
    } while (ec_walk_next_row(w, &pos));
}

void ec_add_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output)
{
    binary_f32(BINARY_ADD, p, w, input1, input2, output);
}

void ec_sub_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output)
{
    binary_f32(BINARY_SUB, p, w, input1, input2, output);
}

void ec_mul_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output)
{
    binary_f32(BINARY_MUL, p, w, input1, input2, output);
}

void ec_div_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output)
{
    binary_f32(BINARY_DIV, p, w, input1, input2, output);
}

#define EC_MAX_MIN(name, type, compare)                                                \
    void name(const ec_walk *w, const type *input1, const type *input2, type *output) \
    {                                                                                  \
        EC_BINARY_WALK(type, input1, input2, output, x compare y ? x : y);             \
    }

EC_MAX_MIN(ec_maximum_s8, int8_t, >)
EC_MAX_MIN(ec_minimum_s8, int8_t, <)
EC_MAX_MIN(ec_maximum_f32, float, >)
EC_MAX_MIN(ec_minimum_f32, float, <)

EC_INLINE int8_t prelu_s8(const ec_prelu_s8_params *p, int32_t x, int32_t alpha)
{
    const int32_t v = x + p->input_offset;
    return v >= 0 ? ec_requantize_s8(v, p->multiplier1, p->shift1, p->output_offset, -128, 127)
                  : ec_requantize_s8(v * (alpha + p->alpha_offset), p->multiplier2, p->shift2, p->output_offset, -128, 127);
}

void ec_prelu_s8(const ec_prelu_s8_params *p, const ec_walk *w, const int8_t *input, const int8_t *alpha, int8_t *output)
{
    EC_BINARY_WALK(int8_t, input, alpha, output, prelu_s8(p, x, y));
}

void ec_prelu_f32(const ec_walk *w, const float *input, const float *alpha, float *output)
{
    EC_BINARY_WALK(float, input, alpha, output, x >= 0.0f ? x : x * y);
}

/* The rescaled inputs' difference is below 2^15 in magnitude: its square fits in int32. */
EC_INLINE int8_t squared_difference_s8(const ec_squared_difference_s8_params *p, int32_t x, int32_t y)
{
    const int32_t difference = p->input1_table[x + 128] + p->input2_table[y + 128];
    return ec_requantize_s8(difference * difference, p->output_multiplier, p->output_shift, p->output_zero_point, -128, 127);
}

void ec_squared_difference_s8(const ec_squared_difference_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    EC_BINARY_WALK(int8_t, input1, input2, output, squared_difference_s8(p, x, y));
}

void ec_squared_difference_f32(const ec_walk *w, const float *input1, const float *input2, float *output)
{
    EC_BINARY_WALK(float, input1, input2, output, (x - y) * (x - y));
}

void ec_lookup_s8(const int8_t *table, const int8_t *input, int8_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = table[(int32_t)input[i] + 128];
}

void ec_lookup_s8_f32(const float *table, const int8_t *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = table[(int32_t)input[i] + 128];
}

void ec_lookup_s8_s16(const int16_t *table, const int8_t *input, int16_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = table[(int32_t)input[i] + 128];
}

void ec_relu_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x < 0.0f ? 0.0f : x;
    }
}

void ec_relu6_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x > 6.0f ? 6.0f : (x < 0.0f ? 0.0f : x);
    }
}

void ec_leaky_relu_f32(float alpha, const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x > 0.0f ? x : x * alpha;
    }
}

void ec_hard_swish_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        const float shifted = x + 3.0f;
        const float positive = 0.0f < shifted ? shifted : 0.0f;
        const float relu6 = positive < 6.0f ? positive : 6.0f;
        output[i] = (x * relu6) / 6.0f;
    }
}

float ec_expf(float x) { return (float)exp((double)x); }

void ec_logistic_f32(const float *input, float *output, int32_t count)
{
    /* Above this 1/(1+exp(-x)) rounds to 1.0f; below -9 it equals exp(x) to float precision. */
    const float upper = 16.619047164916992f;
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x > upper ? 1.0f : (x < -9.0f ? ec_expf(x) : 1.0f / (1.0f + ec_expf(-x)));
    }
}

void ec_rsqrt_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = 1.0f / sqrtf(input[i]);
}

void ec_exp_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = ec_expf(input[i]);
}

void ec_elu_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x < 0.0f ? (float)expm1((double)x) : x;
    }
}

void ec_tanh_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (float)tanh((double)input[i]);
}
