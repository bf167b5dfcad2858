/* Element-wise kernels: broadcasting add/sub/mul, table lookups for int8 unary ops, float
 * activations, and softmax.
 *
 * Element-wise kernels may run in place (output == an input of the same shape): each one reads
 * element i before it writes element i and never reads an element after writing it.
 */
#ifndef EC_ELEMENTWISE_H
#define EC_ELEMENTWISE_H

#include <stdint.h>
#include "ec_common.h"
#include "ec_data.h"

/* ---- binary ops over a walk of the output: stride_a steps through input 1, stride_b through
 * input 2 (0 along broadcast dimensions); the output is written contiguously. */

/* add and sub in one kernel. Each input's rescaling (zero point off, headroom shift, multiplier
 * to the common scale) depends on its int8 value alone, so the generator computes it for all 256
 * values: table[v + 128]. sub's second table is negated. Only the sum is requantized here: with
 * `fast`, the tables hold twice the values and requant = {multiplier, rz, shift} for
 * ec_requantize2 (the generator checks that its conditions hold; `fix` as there), else the sum is
 * requantized by output_multiplier and output_shift. */
typedef struct {
    const int32_t *input1_table;
    const int32_t *input2_table;
    int32_t fast, fix;
    int32_t requant[3];
    int32_t output_zero_point;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t activation_min;
    int32_t activation_max;
} ec_add_s8_params;

void ec_add_s8(const ec_add_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output);

/* int16 add: TFLite's general rescaling computed per element (a table of 65536 entries would not
 * pay): each input, zero point off and shifted up 15 bits, to the common scale; the sum to the
 * output. Shifts <= 0. */
typedef struct {
    int32_t input1_zero_point, input2_zero_point, output_zero_point;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t activation_min, activation_max;
} ec_add_s16_params;

void ec_add_s16(const ec_add_s16_params *p, const ec_walk *w, const int16_t *input1, const int16_t *input2, int16_t *output);

typedef struct {
    int32_t input1_zero_point;
    int32_t input2_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t activation_min;
    int32_t activation_max;
} ec_mul_s8_params;

void ec_mul_s8(const ec_mul_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output);

/* Fused activation bounds of float binary ops. */
typedef struct {
    float activation_min;
    float activation_max;
} ec_binary_f32_params;

void ec_add_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output);
void ec_sub_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output);
void ec_mul_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output);
void ec_div_f32(const ec_binary_f32_params *p, const ec_walk *w, const float *input1, const float *input2, float *output);

/* maximum and minimum compare raw values, in int8 too (inputs and output share one quantization);
 * as TFLite's kernels, a comparison with NaN gives the second input. */
void ec_maximum_s8(const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output);
void ec_minimum_s8(const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output);
void ec_maximum_f32(const ec_walk *w, const float *input1, const float *input2, float *output);
void ec_minimum_f32(const ec_walk *w, const float *input1, const float *input2, float *output);

/* prelu: x where x >= 0, else x * alpha (alpha walked by stride_b). int8 as TFLite Micro: the
 * offset input requantized by multiplier1/shift1, or its product with the offset alpha by
 * multiplier2/shift2, plus the output offset, saturated. */
typedef struct {
    int32_t input_offset;
    int32_t alpha_offset;
    int32_t output_offset;
    int32_t multiplier1;
    int32_t shift1;
    int32_t multiplier2;
    int32_t shift2;
} ec_prelu_s8_params;

void ec_prelu_s8(const ec_prelu_s8_params *p, const ec_walk *w, const int8_t *input, const int8_t *alpha, int8_t *output);
void ec_prelu_f32(const ec_walk *w, const float *input, const float *alpha, float *output);

/* squared difference (a - b)^2. int8 as TFLite Micro: each input rescaled to a common scale by table
 * (input2_table negated, as ec_add_s8's for sub), the sum squared in int32 (|sum| < 2^15), then
 * requantized, offset and saturated. */
typedef struct {
    const int32_t *input1_table; /* 256 entries, for int8 values -128..127 */
    const int32_t *input2_table;
    int32_t output_zero_point;
    int32_t output_multiplier;
    int32_t output_shift;
} ec_squared_difference_s8_params;

void ec_squared_difference_s8(const ec_squared_difference_s8_params *p, const ec_walk *w, const int8_t *input1, const int8_t *input2, int8_t *output);
void ec_squared_difference_f32(const ec_walk *w, const float *input1, const float *input2, float *output);

/* ---- int8 unary ops as tables: an int8 op of one input has 256 possible inputs, so the generator
 * runs the reference arithmetic on each of them and the device only looks results up.
 * table[k] is the result for input k - 128. */

void ec_lookup_s8(const int8_t *table, const int8_t *input, int8_t *output, int32_t count);
void ec_lookup_s8_f32(const float *table, const int8_t *input, float *output, int32_t count);
/* int8 -> int16 (the QUANTIZE in front of a 16x8 layer); output must not overlap input. */
void ec_lookup_s8_s16(const int16_t *table, const int8_t *input, int16_t *output, int32_t count);

/* ---- float activations. */

void ec_relu_f32(const float *input, float *output, int32_t count);
void ec_relu6_f32(const float *input, float *output, int32_t count);
void ec_leaky_relu_f32(float alpha, const float *input, float *output, int32_t count);
void ec_hard_swish_f32(const float *input, float *output, int32_t count);
void ec_logistic_f32(const float *input, float *output, int32_t count);
void ec_tanh_f32(const float *input, float *output, int32_t count);
/* 1.0f / sqrtf(x) (both correctly rounded in IEEE arithmetic), and exp as ec_expf computes it. */
void ec_rsqrt_f32(const float *input, float *output, int32_t count);
void ec_exp_f32(const float *input, float *output, int32_t count);
/* x below zero: expm1 computed in double and rounded once to float32, as the host reference computes it. */
void ec_elu_f32(const float *input, float *output, int32_t count);

/* exp computed in double and rounded once to float32, as the host reference computes it. */
float ec_expf(float x);

/* ---- softmax over the last axis, row by row; every row holds at least one value (depth >= 1). */

typedef struct {
    int32_t rows;
    int32_t depth;
    /* exp_table[d] = exp(beta * input_scale * -d) in Q0.31, for the differences d from the row's
     * maximum that take part; larger differences give exactly 0 (output -128). */
    int32_t exp_count;
    const int32_t *exp_table;
} ec_softmax_s8_params;

/* Output scale 1/256, zero point -128. */
void ec_softmax_s8(const ec_softmax_s8_params *p, const int8_t *input, int8_t *output);
/* int16 output: scale 1/65536, zero point -32768. */
void ec_softmax_s8_s16(const ec_softmax_s8_params *p, const int8_t *input, int16_t *output);

typedef struct {
    int32_t rows;
    int32_t depth;
    float beta;
} ec_softmax_f32_params;

void ec_softmax_f32(const ec_softmax_f32_params *p, const float *input, float *output);

/* int8 log softmax (output scale 16/256, zero point 127) over rows of depth values, as TFLite's
 * reference computes it: for the differences d = max - x in [0, count) that take part,
 * diff_table[d] is -d rescaled to Q5.26 and exp_table[d] its exp in Q0.31 (softmax's table); the
 * device sums the exps, takes their log in fixed point and subtracts it. count <= 256, rows of at
 * most 4095 values (the sum has 12 integer bits). In place is allowed. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t count;
    const int32_t *exp_table;
    const int32_t *diff_table;
    int32_t diff_min;                          /* -count + 1 or below: differences below it give exp 0 */
    int32_t reverse_multiplier, reverse_shift; /* 1 / the Q5.26 rescaling, shift <= 0 */
} ec_log_softmax_s8_params;

void ec_log_softmax_s8(const ec_log_softmax_s8_params *p, const int8_t *input, int8_t *output);

/* log softmax over rows of depth values, in TFLite's order: x - max - log(sum of exp(x - max)),
 * exp and log computed in double and rounded once to float32, as the host reference does. */
void ec_log_softmax_f32(int32_t rows, int32_t depth, const float *input, float *output);

#endif /* EC_ELEMENTWISE_H */
