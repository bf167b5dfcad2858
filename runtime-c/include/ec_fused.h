/* Kernels for fused schedules, where the code generator runs one layer a few output rows at a time
 * and hands each band straight to the next layer instead of keeping the whole output.
 *
 * A fully-connected layer whose input is a band-by-band producer's output sums one slice of its
 * input at a time into int32 accumulators (kept in the arena between bands), then requantizes them
 * once. Integer sums do not depend on the order of their terms, so the output is the one
 * ec_fully_connected_s8 computes from the whole input, bit for bit. */
#ifndef EC_FUSED_H
#define EC_FUSED_H

#include <stdint.h>

#include "ec_nn.h"

typedef struct {
    int32_t depth, units;
    const int8_t *weights; /* [units][depth], the model's own */
    int32_t input_zero_point;
    ec_output_s8 output;
} ec_fully_connected_sum_s8_params;

/* acc[u] = bias[u] for every unit. */
void ec_fully_connected_sum_begin_s8(const ec_fully_connected_sum_s8_params *p, int32_t *acc);
/* acc[u] += sum over k < count of (input[k] - input_zero_point) * weights[u][first + k]: input values
 * first .. first + count - 1 of the layer's input. No alignment needed; input and acc must not overlap. */
void ec_fully_connected_sum_s8(const ec_fully_connected_sum_s8_params *p, const int8_t *input, int32_t first, int32_t count, int32_t *acc);
/* The outputs from the accumulators of a complete sum. */
void ec_fully_connected_sum_end_s8(const ec_fully_connected_sum_s8_params *p, const int32_t *acc, int8_t *output);

#endif /* EC_FUSED_H */
