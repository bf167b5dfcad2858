/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 and 16x8 (int16 gates and cell state) and float32, bit-exact with
 * TensorFlow Lite Micro's reference kernel (lstm_eval.h). The host reference is src/ref/lstm.ts;
 * keep them in step. */
#include <float.h>
#include "ec_lstm.h"
#include "ec_elementwise.h"

/* Where step t of sequence b reads its input row and writes its output row (in rows). */
static int32_t ec_lstm_row(const ec_lstm_shape *s, int32_t b, int32_t t)
{
    return s->time_major ? t * s->batch + b : b * s->steps + t;
}

/* ---- int8 ---- */

static int32_t ec_sat_s16(int32_t v) { return ec_clamp_s32(v, -32768, 32767); }

/* acc + w . x over n int8 values; w and x may have any alignment. */
static int32_t ec_lstm_dot_s8(const int8_t *w, const int8_t *x, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if EC_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const int32_t wv = ec_load4(w + i);
        const int32_t xv = ec_load4(x + i);
        acc = ec_smlad(ec_sxtb16(wv), ec_sxtb16(xv), acc);
        acc = ec_smlad(ec_sxtb16_odd(wv), ec_sxtb16_odd(xv), acc);
    }
#endif
    for (; i < n; i++) acc += w[i] * x[i];
    return acc;
}

/* TFLite's int16 sigmoid, Q3.12 in, Q0.15 out: x * 3 indexes the table in steps of 2^-9 of 1/24,
 * linear interpolation on the magnitude, the negative side mirrored. */
static int16_t ec_sigmoid_s16(const uint16_t *table, int32_t x)
{
    const int32_t v = x * 3;
    const uint32_t magnitude = (uint32_t)(v < 0 ? -v : v);
    const uint32_t index = magnitude >> 9;
    uint32_t result;
    if (index >= 255u) {
        result = 0x7fffu << 10;
    } else {
        const uint32_t a = table[index], b = table[index + 1];
        result = (a << 9) + (magnitude & 0x1ffu) * (b - a);
    }
    result = v >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
    return (int16_t)(result >> 10);
}

/* TFLite's int16 tanh (2 sigmoid(2x) - 1 on the same table), Q0.15 out; the input stage brings
 * x to the table's scale. */
static int16_t ec_tanh_s16(const uint16_t *table, int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t magnitude = (uint32_t)(v < 0 ? -v : v);
    const uint32_t index = magnitude >> 8;
    int32_t result;
    if (index >= 255u) {
        result = (int32_t)(0xffffu << 8);
    } else {
        const uint32_t a = table[index], b = table[index + 1];
        result = (int32_t)((a << 8) + (magnitude & 0xffu) * (b - a));
    }
    result = v >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(result >> 8);
}

size_t ec_lstm_s8_scratch_size(const ec_lstm_s8_params *p) { return 4u * (size_t)p->shape.units * sizeof(int16_t); }

/* One gate's pre-activations for one sequence: both products requantized to Q3.12 and saturated
 * to int16, then their saturating sum (TFLite's order of saturation). */
static void ec_lstm_preactivate_s8(const ec_lstm_gate_s8 *g, int32_t input_size, int32_t units, const int8_t *x, const int8_t *h, int16_t *out)
{
    for (int32_t u = 0; u < units; u++) {
        const int32_t ax = ec_lstm_dot_s8(&g->weights[u * input_size], x, input_size, g->input_bias[u]);
        const int32_t ah = ec_lstm_dot_s8(&g->recurrent_weights[u * units], h, units, g->recurrent_bias[u]);
        const int32_t sx = ec_sat_s16(ec_requantize(ax, g->input_multiplier, g->input_shift));
        const int32_t sh = ec_sat_s16(ec_requantize(ah, g->recurrent_multiplier, g->recurrent_shift));
        out[u] = (int16_t)ec_sat_s16(sx + sh);
    }
}

/* Unit u's step from its four gate pre-activations: the cell state updated in place, and the
 * hidden value requantized with its zero point, not yet clamped to the hidden state's type. */
EC_INLINE int32_t ec_lstm_unit(const ec_lstm_cell_q *q, int16_t *const gate[4], int32_t u, int16_t *c)
{
    const int32_t i_gate = ec_sigmoid_s16(q->sigmoid_table, gate[0][u]);
    const int32_t f_gate = ec_sigmoid_s16(q->sigmoid_table, gate[1][u]);
    const int32_t c_gate = ec_tanh_s16(q->sigmoid_table, gate[2][u], 3, 0);
    const int32_t o_gate = ec_sigmoid_s16(q->sigmoid_table, gate[3][u]);
    const int32_t kept = ec_sat_s16(ec_requantize(f_gate * c[u], q->forget_multiplier, q->forget_shift));
    const int32_t added = ec_sat_s16(ec_requantize(i_gate * c_gate, q->input_multiplier, q->input_shift));
    int32_t next = ec_sat_s16(kept + added);
    if (q->cell_clip > 0) next = ec_clamp_s32(next, -q->cell_clip, q->cell_clip);
    c[u] = (int16_t)next;
    const int32_t squashed = ec_tanh_s16(q->sigmoid_table, next, q->cell_tanh_multiplier, q->cell_tanh_shift);
    return ec_requantize(squashed * o_gate, q->hidden_multiplier, q->hidden_shift) + q->hidden_zero_point;
}

void ec_lstm_s8(const ec_lstm_s8_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell, void *scratch)
{
    const ec_lstm_shape *s = &p->shape;
    const int32_t units = s->units;
    int16_t *gate[4];
    for (int32_t g = 0; g < 4; g++) gate[g] = (int16_t *)scratch + g * units;
    for (int32_t t = 0; t < s->steps; t++) {
        for (int32_t b = 0; b < s->batch; b++) {
            const int32_t row = ec_lstm_row(s, b, t);
            const int8_t *x = &input[row * s->input_size];
            int8_t *h = &hidden[b * units];
            int16_t *c = &cell[b * units];
            /* All four gates read the previous step's hidden state: compute them before updating it. */
            for (int32_t g = 0; g < 4; g++) ec_lstm_preactivate_s8(&p->gates[g], s->input_size, units, x, h, gate[g]);
            for (int32_t u = 0; u < units; u++) h[u] = ec_sat_s8(ec_lstm_unit(&p->cell, gate, u, c));
            memcpy(&output[row * units], h, (size_t)units);
        }
    }
}

/* ---- 16x8 ---- */

size_t ec_lstm_s16_scratch_size(const ec_lstm_s16_params *p) { return 4u * (size_t)p->shape.units * sizeof(int16_t); }

/* acc + w . x over n values, in int64. */
static int64_t ec_lstm_dot_s16(const int8_t *w, const int16_t *x, int32_t n, int64_t acc)
{
    for (int32_t i = 0; i < n; i++) acc += (int32_t)w[i] * x[i];
    return acc;
}

static void ec_lstm_preactivate_s16(const ec_lstm_gate_s16 *g, int32_t input_size, int32_t units, const int16_t *x, const int16_t *h, int16_t *out)
{
    for (int32_t u = 0; u < units; u++) {
        const int64_t ax = ec_lstm_dot_s16(&g->weights[u * input_size], x, input_size, g->bias[u]);
        const int64_t ah = ec_lstm_dot_s16(&g->recurrent_weights[u * units], h, units, 0);
        const int32_t sx = ec_sat_s16(ec_requantize_s64(ax, g->input_multiplier, g->input_shift));
        const int32_t sh = ec_sat_s16(ec_requantize_s64(ah, g->recurrent_multiplier, g->recurrent_shift));
        out[u] = (int16_t)ec_sat_s16(sx + sh);
    }
}

void ec_lstm_s16(const ec_lstm_s16_params *p, const int16_t *input, int16_t *output, int16_t *hidden, int16_t *cell, void *scratch)
{
    const ec_lstm_shape *s = &p->shape;
    const int32_t units = s->units;
    int16_t *gate[4];
    for (int32_t g = 0; g < 4; g++) gate[g] = (int16_t *)scratch + g * units;
    for (int32_t t = 0; t < s->steps; t++) {
        for (int32_t b = 0; b < s->batch; b++) {
            const int32_t row = ec_lstm_row(s, b, t);
            int16_t *h = &hidden[b * units];
            int16_t *c = &cell[b * units];
            for (int32_t g = 0; g < 4; g++) ec_lstm_preactivate_s16(&p->gates[g], s->input_size, units, &input[row * s->input_size], h, gate[g]);
            for (int32_t u = 0; u < units; u++) h[u] = (int16_t)ec_sat_s16(ec_lstm_unit(&p->cell, gate, u, c));
            memcpy(&output[row * units], h, (size_t)units * sizeof(int16_t));
        }
    }
}

/* ---- float32 ---- */

/* TFLite's float fully connected and mul clamp to the float range when no activation is fused. */
static float ec_lstm_clamp_f32(float v)
{
    const float lo = v < -FLT_MAX ? -FLT_MAX : v;
    return FLT_MAX < lo ? FLT_MAX : lo;
}

size_t ec_lstm_f32_scratch_size(const ec_lstm_f32_params *p) { return 4u * (size_t)p->shape.units * sizeof(float); }

void ec_lstm_f32(const ec_lstm_f32_params *p, const float *input, float *output, float *hidden, float *cell, void *scratch)
{
    const ec_lstm_shape *s = &p->shape;
    const int32_t units = s->units, depth = s->input_size;
    float *gate[4];
    for (int32_t g = 0; g < 4; g++) gate[g] = (float *)scratch + g * units;
    for (int32_t t = 0; t < s->steps; t++) {
        for (int32_t b = 0; b < s->batch; b++) {
            const int32_t row = ec_lstm_row(s, b, t);
            const float *x = &input[row * depth];
            float *h = &hidden[b * units];
            float *c = &cell[b * units];
            for (int32_t g = 0; g < 4; g++) {
                for (int32_t u = 0; u < units; u++) {
                    const float *w = &p->weights[g][u * depth];
                    const float *r = &p->recurrent_weights[g][u * units];
                    float tx = 0.0f, th = 0.0f;
                    for (int32_t d = 0; d < depth; d++) tx += x[d] * w[d];
                    for (int32_t d = 0; d < units; d++) th += h[d] * r[d];
                    gate[g][u] = ec_lstm_clamp_f32(tx + p->bias[g][u]) + ec_lstm_clamp_f32(th + 0.0f);
                }
                if (g == 2) ec_tanh_f32(gate[g], gate[g], units);
                else ec_logistic_f32(gate[g], gate[g], units);
            }
            for (int32_t u = 0; u < units; u++) {
                float next = ec_lstm_clamp_f32(gate[1][u] * c[u]) + ec_lstm_clamp_f32(gate[0][u] * gate[2][u]);
                if (p->cell_clip > 0.0f) {
                    next = next < -p->cell_clip ? -p->cell_clip : next;
                    next = p->cell_clip < next ? p->cell_clip : next;
                }
                c[u] = next;
                float squashed;
                ec_tanh_f32(&next, &squashed, 1);
                h[u] = ec_lstm_clamp_f32(squashed * gate[3][u]);
            }
            memcpy(&output[row * units], h, (size_t)units * sizeof(float));
        }
    }
}
