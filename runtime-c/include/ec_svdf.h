/* SVDF as TensorFlow Lite Micro's integer reference kernel computes it (int8 input and output).
 *
 * The activation state is the caller's: batch * filters rows of `memory` int16 values, oldest
 * first, that persist from one call to the next (the generated code keeps it in static storage
 * outside the arena and clears it in <model>_reset()). A model whose state is int8 keeps it here
 * widened to int16, with state_wraps_s8 set: each new entry then wraps to int8 after the zero
 * point is added, as TFLite Micro's int8 store does. input, output and state must not overlap.
 * Any alignment: rows are read with unaligned word loads.
 */
#ifndef EC_SVDF_H
#define EC_SVDF_H

#include <stdint.h>
#include "ec_common.h"

typedef struct {
    int32_t batch, input_size, filters, memory, rank;
    const int8_t *feature_weights; /* [filters][input_size] */
    const int16_t *time_weights;   /* [filters][memory] */
    /* -input zero point x the sum of feature weight row f: the zero point folded in. */
    const int32_t *feature_bias;   /* [filters] */
    /* bias[u] - state zero point x the sum of the time weights of unit u's rank filters. */
    const int32_t *bias;           /* [filters / rank] */
    int32_t feature_multiplier, feature_shift;
    int32_t state_min, state_max, state_zero_point, state_wraps_s8;
    int32_t output_multiplier, output_shift, output_zero_point;
} ec_svdf_s8_params;

void ec_svdf_s8(const ec_svdf_s8_params *p, const int8_t *input, int8_t *output, int16_t *state);

#endif /* EC_SVDF_H */
