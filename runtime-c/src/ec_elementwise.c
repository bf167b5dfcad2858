/* Element-wise kernels: broadcasting binary ops, table lookups, float activations.
 *
 * int8 arithmetic is TensorFlow Lite Micro's reference arithmetic (ec_common.h). Float kernels
 * evaluate the same expressions as its float kernels, one float32 rounding per operation; exp and
 * tanh are computed in double and rounded once to float32, which is what the host reference does
 * (a C library's expf/tanhf are not rounded the same way on every platform).
 */
#include <math.h>
#include "ec_elementwise.h"

/* add and sub differ only in the sign of the second term. Both inputs get `left_shift` bits of
 * headroom, are rescaled to twice the larger input scale, summed and requantized. */
static void add_sub_s8(const ec_add_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2,
                       int8_t *output, int32_t sign)
{
    const int32_t count = w->dims[w->rank - 1];
    const int32_t step1 = w->stride_a[w->rank - 1];
    const int32_t step2 = w->stride_b[w->rank - 1];
    const int32_t headroom = (int32_t)1 << p->left_shift;
    ec_walk_pos pos;
    ec_walk_start(&pos);
    do {
        const int8_t *a = input1 + pos.a;
        const int8_t *b = input2 + pos.b;
        for (int32_t i = 0; i < count; i++) {
            const int32_t x = ((int32_t)a[i * step1] - p->input1_zero_point) * headroom;
            const int32_t y = ((int32_t)b[i * step2] - p->input2_zero_point) * headroom;
            const int32_t scaled_x = ec_requantize(x, p->input1_multiplier, p->input1_shift);
            const int32_t scaled_y = ec_requantize(y, p->input2_multiplier, p->input2_shift);
            output[i] = ec_requantize_s8(scaled_x + sign * scaled_y, p->output_multiplier, p->output_shift,
                                         p->output_zero_point, p->activation_min, p->activation_max);
        }
        output += count;
    } while (ec_walk_next_row(w, &pos));
}

void ec_add_s8(const ec_add_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    add_sub_s8(p, w, input1, input2, output, 1);
}

void ec_sub_s8(const ec_add_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    add_sub_s8(p, w, input1, input2, output, -1);
}

void ec_mul_s8(const ec_mul_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const int32_t count = w->dims[w->rank - 1];
    const int32_t step1 = w->stride_a[w->rank - 1];
    const int32_t step2 = w->stride_b[w->rank - 1];
    ec_walk_pos pos;
    ec_walk_start(&pos);
    do {
        const int8_t *a = input1 + pos.a;
        const int8_t *b = input2 + pos.b;
        for (int32_t i = 0; i < count; i++) {
            const int32_t product = ((int32_t)a[i * step1] - p->input1_zero_point) * ((int32_t)b[i * step2] - p->input2_zero_point);
            output[i] = ec_requantize_s8(product, p->output_multiplier, p->output_shift, p->output_zero_point,
                                         p->activation_min, p->activation_max);
        }
        output += count;
    } while (ec_walk_next_row(w, &pos));
}

typedef enum { BINARY_ADD, BINARY_SUB, BINARY_MUL } binary_f32_op;

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
            const float v = op == BINARY_ADD ? x + y : op == BINARY_SUB ? x - y : x * y;
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

void ec_lookup_s8(const int8_t *table, const int8_t *input, int8_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = table[(int32_t)input[i] + 128];
}

void ec_lookup_s8_f32(const float *table, const int8_t *input, float *output, int32_t count)
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

float ec_exp_f32(float x) { return (float)exp((double)x); }

void ec_logistic_f32(const float *input, float *output, int32_t count)
{
    /* Above this 1/(1+exp(-x)) rounds to 1.0f; below -9 it equals exp(x) to float precision. */
    const float upper = 16.619047164916992f;
    for (int32_t i = 0; i < count; i++) {
        const float x = input[i];
        output[i] = x > upper ? 1.0f : (x < -9.0f ? ec_exp_f32(x) : 1.0f / (1.0f + ec_exp_f32(-x)));
    }
}

void ec_tanh_f32(const float *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (float)tanh((double)input[i]);
}
