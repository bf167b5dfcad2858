/* SVDF, int8 input and output with an int16 state: the feature product of each filter enters the
 * newest slot of its state row, then each unit sums its filters' time products. Both products go
 * two lanes at a time through SMLAD (plain C where there is no DSP extension). Every sum is a
 * wrapping int32 sum, as in the reference, so the zero points fold into constant biases exactly. */
#include <string.h>
#include "ec_svdf.h"

/* sum of w[k] * x[k] over n int8 pairs, from acc. */
static int32_t dot_s8(const int8_t *w, const int8_t *x, int32_t n, int32_t acc)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t a = ec_load4(w + k), b = ec_load4(x + k);
        acc = ec_smlad(ec_sxtb16(a), ec_sxtb16(b), acc);
        acc = ec_smlad(ec_sxtb16_odd(a), ec_sxtb16_odd(b), acc);
    }
    for (; k < n; k++) acc = ec_mla(w[k], x[k], acc);
    return acc;
}

/* sum of w[k] * x[k] over n int16 pairs, from acc. */
static int32_t dot_s16(const int16_t *w, const int16_t *x, int32_t n, int32_t acc)
{
    int32_t k = 0;
    for (; k + 2 <= n; k += 2) acc = ec_smlad(ec_load4(w + k), ec_load4(x + k), acc);
    if (k < n) acc = ec_mla(w[k], x[k], acc);
    return acc;
}

void ec_svdf_s8(const ec_svdf_s8_params *p, const int8_t *input, int8_t *output, int16_t *state)
{
    const int32_t rows = p->batch * p->filters;
    const int32_t m = p->memory;
    /* Every row moves one step back; the last slot of each is written below. */
    memmove(state, state + 1, (size_t)(rows * m - 1) * sizeof *state);
    for (int32_t b = 0; b < p->batch; b++) {
        const int8_t *x = input + b * p->input_size;
        for (int32_t f = 0; f < p->filters; f++) {
            const int32_t acc = dot_s8(p->feature_weights + f * p->input_size, x, p->input_size, p->feature_bias[f]);
            const int32_t v = ec_clamp_s32(ec_requantize(acc, p->feature_multiplier, p->feature_shift), p->state_min, p->state_max) + p->state_zero_point;
            state[(b * p->filters + f + 1) * m - 1] = (int16_t)(p->state_wraps_s8 ? (int8_t)(uint8_t)(uint32_t)v : v);
        }
    }
    const int32_t units = p->filters / p->rank;
    for (int32_t b = 0; b < p->batch; b++) {
        for (int32_t u = 0; u < units; u++) {
            int32_t acc = p->bias[u];
            for (int32_t f = u * p->rank; f < (u + 1) * p->rank; f++) {
                acc = dot_s16(p->time_weights + f * m, state + (b * p->filters + f) * m, m, acc);
            }
            output[b * units + u] = ec_requantize_s8(acc, p->output_multiplier, p->output_shift, p->output_zero_point, -128, 127);
        }
    }
}
