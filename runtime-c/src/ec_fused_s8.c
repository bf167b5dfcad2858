/* Fully connected, summed slice by slice (see ec_fused.h). */
#include <string.h>

#include "ec_fused.h"

void ec_fully_connected_sum_begin_s8(const ec_fully_connected_sum_s8_params *p, int32_t *acc)
{
    memcpy(acc, p->output.bias, (size_t)p->units * sizeof(int32_t));
}

/* Units u .. u + 3 over the values k < whole, four at a time: each four input values widened once
 * for the four units, whose sums stay in registers. */
static EC_NOINLINE void sum_four_units(const int8_t *input, const int8_t *w, int32_t depth, int32_t whole, int32_t offset, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t k = 0; k < whole; k += 4, w += 4) {
        /* Lanes (x0, x2) and (x1, x3), minus the zero point. */
        const int32_t x = ec_load4(input + k);
        const int32_t even = ec_sxtab16(offset, x), odd = ec_sxtab16_odd(offset, x);
        int32_t v = ec_load4(w);
        a0 = ec_smlad(odd, ec_sxtb16_odd(v), ec_smlad(even, ec_sxtb16(v), a0));
        v = ec_load4(w + depth);
        a1 = ec_smlad(odd, ec_sxtb16_odd(v), ec_smlad(even, ec_sxtb16(v), a1));
        v = ec_load4(w + 2 * depth);
        a2 = ec_smlad(odd, ec_sxtb16_odd(v), ec_smlad(even, ec_sxtb16(v), a2));
        v = ec_load4(w + 3 * depth);
        a3 = ec_smlad(odd, ec_sxtb16_odd(v), ec_smlad(even, ec_sxtb16(v), a3));
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* One unit over the values k < whole. */
static int32_t sum_one_unit(const int8_t *input, const int8_t *w, int32_t whole, int32_t offset, int32_t a)
{
    for (int32_t k = 0; k < whole; k += 4) {
        const int32_t x = ec_load4(input + k), v = ec_load4(w + k);
        a = ec_smlad(ec_sxtab16_odd(offset, x), ec_sxtb16_odd(v), ec_smlad(ec_sxtab16(offset, x), ec_sxtb16(v), a));
    }
    return a;
}

void ec_fully_connected_sum_s8(const ec_fully_connected_sum_s8_params *p, const int8_t *input, int32_t first, int32_t count, int32_t *acc)
{
    const int32_t zero_point = p->input_zero_point, depth = p->depth, units = p->units;
    /* Minus the zero point in both int16 lanes, for SXTAB16. */
    const int32_t offset = (int32_t)(((uint32_t)-zero_point & 0xffffu) * 0x10001u);
    const int32_t whole = count & ~3;
    const int8_t *const weights = p->weights + first;
    int32_t u = 0;
    for (; u + 4 <= units; u += 4) sum_four_units(input, weights + u * depth, depth, whole, offset, acc + u);
    for (; u < units; u++) acc[u] = sum_one_unit(input, weights + u * depth, whole, offset, acc[u]);
    for (int32_t k = whole; k < count; k++) {
        const int32_t x = input[k] - zero_point;
        for (u = 0; u < units; u++) acc[u] = (int32_t)((uint32_t)acc[u] + (uint32_t)(x * weights[u * depth + k]));
    }
}

void ec_fully_connected_sum_end_s8(const ec_fully_connected_sum_s8_params *p, const int32_t *acc, int8_t *output)
{
    ec_output_row(&p->output, acc, p->units, output);
}
