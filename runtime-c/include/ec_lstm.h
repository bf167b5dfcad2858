/* UNIDIRECTIONAL_SEQUENCE_LSTM as TensorFlow Lite Micro's reference kernel computes it.
 *
 * The hidden and cell states are the caller's: buffers of batch * units values that persist from
 * one call to the next (the generated code keeps them in static storage outside the arena and
 * clears them in <model>_reset()). Each call runs every step of the input sequence, continuing
 * from the state the previous call left. Gate order everywhere: input, forget, cell, output.
 * input and output are [batch][steps][features] ([steps][batch][features] when time_major);
 * they must not overlap each other or the state. Scratch: ec_lstm_*_scratch_size() bytes,
 * aligned to 4.
 */
#ifndef EC_LSTM_H
#define EC_LSTM_H

#include <stddef.h>
#include <stdint.h>
#include "ec_common.h"

typedef struct {
    int32_t batch, steps, input_size, units, time_major;
} ec_lstm_shape;

/* int8 x int8 -> int16 products of one gate, requantized to Q3.12. The biases have the zero
 * points folded in: input_bias[u] = bias[u] - input zero point * sum of weights row u, and
 * recurrent_bias[u] = -hidden zero point * sum of recurrent row u. */
typedef struct {
    const int8_t *weights;           /* [units][input_size] */
    const int8_t *recurrent_weights; /* [units][units] */
    const int32_t *input_bias;
    const int32_t *recurrent_bias;
    int32_t input_multiplier, input_shift;
    int32_t recurrent_multiplier, recurrent_shift;
} ec_lstm_gate_s8;

/* What follows the gates, the same for int8 and 16x8: the int16 cell update and the hidden state. */
typedef struct {
    /* forget gate x cell -> cell; input gate x cell gate -> cell; output gate x tanh(cell) -> hidden. */
    int32_t forget_multiplier, forget_shift;
    int32_t input_multiplier, input_shift;
    int32_t hidden_multiplier, hidden_shift, hidden_zero_point;
    int32_t cell_clip; /* in cell steps; 0: no clip */
    /* The int16 tanh's input stage for the cell state: (x * multiplier + round) >> shift. */
    int32_t cell_tanh_multiplier, cell_tanh_shift;
    /* TFLite's sigmoid(i / 24) in Q0.16, 256 entries (the generator writes them). */
    const uint16_t *sigmoid_table;
} ec_lstm_cell_q;

typedef struct {
    ec_lstm_shape shape;
    ec_lstm_gate_s8 gates[4];
    ec_lstm_cell_q cell;
} ec_lstm_s8_params;

size_t ec_lstm_s8_scratch_size(const ec_lstm_s8_params *p);
void ec_lstm_s8(const ec_lstm_s8_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell, void *scratch);

/* 16x8: int16 x int8 products of one gate summed in int64 with the int64 bias (zero points are 0,
 * so nothing is folded and the recurrent product has no bias), requantized to Q3.12 by
 * ec_requantize_s64. */
typedef struct {
    const int8_t *weights;           /* [units][input_size] */
    const int8_t *recurrent_weights; /* [units][units] */
    const int64_t *bias;
    int32_t input_multiplier, input_shift;
    int32_t recurrent_multiplier, recurrent_shift;
} ec_lstm_gate_s16;

typedef struct {
    ec_lstm_shape shape;
    ec_lstm_gate_s16 gates[4];
    ec_lstm_cell_q cell; /* hidden_zero_point is 0 */
} ec_lstm_s16_params;

size_t ec_lstm_s16_scratch_size(const ec_lstm_s16_params *p);
void ec_lstm_s16(const ec_lstm_s16_params *p, const int16_t *input, int16_t *output, int16_t *hidden, int16_t *cell, void *scratch);

typedef struct {
    ec_lstm_shape shape;
    const float *weights[4];           /* [units][input_size] per gate */
    const float *recurrent_weights[4]; /* [units][units] per gate */
    const float *bias[4];
    float cell_clip; /* 0: no clip */
} ec_lstm_f32_params;

size_t ec_lstm_f32_scratch_size(const ec_lstm_f32_params *p);
void ec_lstm_f32(const ec_lstm_f32_params *p, const float *input, float *output, float *hidden, float *cell, void *scratch);

#endif /* EC_LSTM_H */
