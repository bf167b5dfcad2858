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
