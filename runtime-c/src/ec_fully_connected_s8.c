/* int8 fully connected layer: each row of the input times each weight row, two units at a time so
 * that every input word unpacked (with the zero point subtracted) serves two dot products. */
#include "ec_nn.h"

EC_INLINE void fully_connected(const ec_fully_connected_s8_params *p, const int8_t *input, int8_t *output, int32_t fast)
{
    const int32_t depth = p->depth;
    const int32_t whole = depth & ~3;
    const int32_t offset = (int32_t)(((uint32_t)-p->input_zero_point & 0xffffu) * 0x10001u);
    /* A copy the stores cannot alias, so its fields stay in registers. */
    const ec_output_s8 o = p->output;
    for (int32_t r = 0; r < p->rows; r++, input += depth, output += p->units) {
        for (int32_t u = 0; u < p->units; u += 2) {
            /* An odd last unit is computed twice rather than by a second loop. */
            const int32_t u1 = u + 1 < p->units ? u + 1 : u;
            const int8_t *w0 = p->weights + u * depth;
            const int8_t *w1 = p->weights + u1 * depth;
            int32_t acc0 = o.bias[u], acc1 = o.bias[u1];
            int32_t k = 0;
            for (; k < whole; k += 4) {
                const int32_t x = ec_load4(input + k);
                const int32_t x_even = ec_sxtab16(offset, x), x_odd = ec_sxtab16_odd(offset, x);
                const int32_t wa = ec_load4(w0 + k), wb = ec_load4(w1 + k);
                acc0 = ec_smlad(ec_sxtb16(wa), x_even, acc0);
                acc0 = ec_smlad(ec_sxtb16_odd(wa), x_odd, acc0);
                acc1 = ec_smlad(ec_sxtb16(wb), x_even, acc1);
                acc1 = ec_smlad(ec_sxtb16_odd(wb), x_odd, acc1);
            }
            for (; k < depth; k++) {
                const int32_t v = input[k] - p->input_zero_point;
                acc0 = ec_mla(v, w0[k], acc0);
                acc1 = ec_mla(v, w1[k], acc1);
            }
            output[u] = (int8_t)ec_output(&o, acc0, u, fast);
            output[u1] = (int8_t)ec_output(&o, acc1, u1, fast);
        }
    }
}

/* One copy of the loops for each kind of requantization. */
void ec_fully_connected_s8(const ec_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    if (p->output.fast) {
        fully_connected(p, input, output, 1);
    } else {
        fully_connected(p, input, output, 0);
    }
}

/* Four input bytes, the last `n` < 4 of them read one at a time (the rest zero: their weights are). */
EC_INLINE int32_t load_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    for (int32_t k = 0; k < n; k++) v |= (uint32_t)(uint8_t)x[k] << (8 * k);
    return (int32_t)v;
}

/* Four units' dot products: each input word split into its even and odd bytes (by SXTB16, or once
 * for the whole row into scratch) serves the four units, whose weights are already int16. */
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4;

EC_INLINE void step4(acc4 *a, int32_t even, int32_t odd, const ec_word **w)
{
    int32_t we, wo;
    ec_load_words2(w, &we, &wo);
    a->a0 = ec_smlad(even, we, a->a0);
    a->a0 = ec_smlad(odd, wo, a->a0);
    ec_load_words2(w, &we, &wo);
    a->a1 = ec_smlad(even, we, a->a1);
    a->a1 = ec_smlad(odd, wo, a->a1);
    ec_load_words2(w, &we, &wo);
    a->a2 = ec_smlad(even, we, a->a2);
    a->a2 = ec_smlad(odd, wo, a->a2);
    ec_load_words2(w, &we, &wo);
    a->a3 = ec_smlad(even, we, a->a3);
    a->a3 = ec_smlad(odd, wo, a->a3);
}

EC_INLINE void step4_raw(acc4 *a, int32_t x, const ec_word **w)
{
    step4(a, ec_sxtb16(x), ec_sxtb16_odd(x), w);
}

/* The accumulators of units u .. u + 3 (bias words q[0], q[4], ...; `left` of them real), from the
 * raw row x or, when `wide` (a constant), from its even and odd bytes already split into xs. */
EC_INLINE acc4 units4(const int8_t *x, const int32_t *xs, int32_t groups, int32_t tail, const ec_word **w, const int32_t *q, int32_t left,
                      int32_t wide)
{
    acc4 a = {q[0], left > 1 ? q[4] : 0, left > 2 ? q[8] : 0, left > 3 ? q[12] : 0};
    if (wide) {
        const int32_t n = groups + (tail ? 1 : 0);
        int32_t g = n;
        for (; g >= 2; g -= 2, xs += 4) {
            step4(&a, xs[0], xs[1], w);
            step4(&a, xs[2], xs[3], w);
        }
        if (g) step4(&a, xs[0], xs[1], w);
        return a;
    }
    int32_t g = groups;
    for (; g >= 2; g -= 2, x += 8) {
        step4_raw(&a, ec_load4(x), w);
        step4_raw(&a, ec_load4(x + 4), w);
    }
    if (g) {
        step4_raw(&a, ec_load4(x), w);
        x += 4;
    }
    if (tail) step4_raw(&a, load_tail(x, tail), w);
    return a;
}

EC_INLINE void fully_connected_w16(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, int32_t *xs, int32_t full)
{
    const int32_t depth = p->depth, units = p->units;
    const int32_t groups = depth >> 2, tail = depth & 3;
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    const int32_t wide = xs != NULL;
    for (int32_t r = 0; r < p->rows; r++, input += depth) {
        if (xs) {
            /* The row's even and odd bytes, once for all the units. */
            int32_t *d = xs;
            for (int32_t g = 0; g < groups; g++, d += 2) {
                const int32_t x = ec_load4(input + 4 * g);
                d[0] = ec_sxtb16(x);
                d[1] = ec_sxtb16_odd(x);
            }
            if (tail) {
                const int32_t x = load_tail(input + 4 * groups, tail);
                d[0] = ec_sxtb16(x);
                d[1] = ec_sxtb16_odd(x);
            }
        }
        const ec_word *w = (const ec_word *)p->weights;
        const int32_t *q = p->output.channels;
        int32_t u = 0;
        for (; u + 4 <= units; u += 4, q += 16) {
            const acc4 a = wide ? units4(input, xs, groups, tail, &w, q, 4, 1) : units4(input, xs, groups, tail, &w, q, 4, 0);
            *output++ = ec_output2(a.a0, q + 1, 1, full, lo, hi);
            *output++ = ec_output2(a.a1, q + 5, 1, full, lo, hi);
            *output++ = ec_output2(a.a2, q + 9, 1, full, lo, hi);
            *output++ = ec_output2(a.a3, q + 13, 1, full, lo, hi);
        }
        if (u < units) {
            const int32_t left = units - u;
            const acc4 a = units4(input, NULL, groups, tail, &w, q, left, 0);
            *output++ = ec_output2(a.a0, q + 1, 1, full, lo, hi);
            if (left > 1) *output++ = ec_output2(a.a1, q + 5, 1, full, lo, hi);
            if (left > 2) *output++ = ec_output2(a.a2, q + 9, 1, full, lo, hi);
        }
    }
}

size_t ec_fully_connected_w16_s8_scratch_size(const ec_fully_connected_w16_s8_params *p)
{
    return p->units > 4 ? (size_t)((p->depth + 3) >> 2) * 2u * sizeof(int32_t) : 0u;
}

/* The sign correction is always made (it is one instruction per output, and outputs are few). */
void ec_fully_connected_w16_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    int32_t *xs = p->units > 4 ? (int32_t *)scratch : NULL;
    if (p->output.mode != 2) {
        if (xs) fully_connected_w16(p, input, output, xs, 1);
        else fully_connected_w16(p, input, output, NULL, 1);
    } else {
        if (xs) fully_connected_w16(p, input, output, xs, 0);
        else fully_connected_w16(p, input, output, NULL, 0);
    }
}
