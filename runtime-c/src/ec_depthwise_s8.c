/* int8 depthwise convolution. Each output channel sums its own input channel over the filter taps
 * that fall inside the input; taps in the padding are skipped, as in TFLite. */
#include "ec_nn.h"

/* Accumulators of four channels in the order SXTB16 splits a word: lanes (c0, c2) and (c1, c3). */
typedef struct {
    int32_t c0, c1, c2, c3;
} quad;

/* One tap of four channels: x holds their input bytes, w[0] and w[1] their weights (c0, c2) and
 * (c1, c3) as int16 pairs; the zero point is subtracted from x as it is unpacked. */
EC_INLINE void tap4(quad *a, int32_t x, const ec_word *w, int32_t offset)
{
    const int32_t even = ec_sxtab16(offset, x), odd = ec_sxtab16_odd(offset, x);
    a->c0 = ec_smlabb(even, w[0], a->c0);
    a->c2 = ec_smlatt(even, w[0], a->c2);
    a->c1 = ec_smlabb(odd, w[1], a->c1);
    a->c3 = ec_smlatt(odd, w[1], a->c3);
}

/* Output channel oc, which reads input channel ic, one tap at a time; weights[tap * stride + oc]. */
static int32_t one_channel(const ec_window *w, int32_t zero_point, const int16_t *weights, int32_t stride, const int8_t *image,
                           const ec_taps *t, int32_t ic, int32_t oc, int32_t acc)
{
    for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
        for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
            const int32_t iy = t->iy0 + ky * w->dilation_height, ix = t->ix0 + kx * w->dilation_width;
            const int32_t v = image[(iy * w->in_width + ix) * w->in_channels + ic] - zero_point;
            acc = ec_mla(v, weights[(ky * w->filter_width + kx) * stride + oc], acc);
        }
    }
    return acc;
}

void ec_depthwise_conv2d_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const ec_window *w = &p->window;
    const ec_output_s8 o = p->output;
    const int32_t channels = w->in_channels;
    const int32_t whole = channels & ~3;
    const int32_t taps = w->filter_height * w->filter_width;
    const int32_t offset = (int32_t)(((uint32_t)-p->input_zero_point & 0xffffu) * 0x10001u);
    const int32_t col_step = w->dilation_width * channels;
    const int32_t row_step = w->dilation_height * w->in_width * channels;
    /* Four channels' weights per tap, two words, each group's taps together; then the rest. */
    const ec_word *const grouped = (const ec_word *)p->weights;
    const int16_t *const rest = p->weights + taps * whole;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * channels;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                const int32_t rows = t.ky1 - t.ky0, cols = t.kx1 - t.kx0;
                if (rows <= 0 || cols <= 0) {
                    for (int32_t c = 0; c < channels; c++) output[c] = ec_output(&o, o.bias[c], c);
                    continue;
                }
                const int8_t *first = image + ((t.iy0 + t.ky0 * w->dilation_height) * w->in_width + t.ix0 + t.kx0 * w->dilation_width) * channels;
                const int32_t first_tap = t.ky0 * w->filter_width + t.kx0;
                for (int32_t c = 0; c < whole; c += 4) {
                    const ec_word *wt = grouped + (c >> 1) * taps + 2 * first_tap;
                    const int8_t *in = first + c;
                    quad a = {o.bias[c], o.bias[c + 1], o.bias[c + 2], o.bias[c + 3]};
                    for (int32_t ky = 0; ky < rows; ky++, in += row_step, wt += 2 * w->filter_width) {
                        for (int32_t kx = 0; kx < cols; kx++) tap4(&a, ec_load4(in + kx * col_step), wt + 2 * kx, offset);
                    }
                    const int8_t y0 = ec_output(&o, a.c0, c), y1 = ec_output(&o, a.c1, c + 1);
                    const int8_t y2 = ec_output(&o, a.c2, c + 2), y3 = ec_output(&o, a.c3, c + 3);
                    output[c] = y0;
                    output[c + 1] = y1;
                    output[c + 2] = y2;
                    output[c + 3] = y3;
                }
                for (int32_t c = whole; c < channels; c++) {
                    const int32_t acc = one_channel(w, p->input_zero_point, rest, channels - whole, image, &t, c, c - whole, o.bias[c]);
                    output[c] = ec_output(&o, acc, c);
                }
            }
        }
    }
}

void ec_depthwise_conv2d_mult_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const ec_window *w = &p->window;
    const ec_output_s8 o = p->output;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += out_c) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < out_c; c++) {
                    const int32_t acc = one_channel(w, p->input_zero_point, p->weights, out_c, image, &t, c / p->depth_multiplier, c, o.bias[c]);
                    output[c] = ec_output(&o, acc, c);
                }
            }
        }
    }
}
