/* int8 depthwise convolution. Each output channel sums its own input channel over the filter taps
 * that fall inside the input; taps in the padding are skipped, as in TFLite. */
#include "ec_nn.h"

/* Four channels at a time: one word holds four input channels, SXTAB16 subtracts the zero point
 * while it splits them into the lanes (c0, c2) and (c1, c3), and the weights are stored widened in
 * that order so that each tap is two loads and four 16x16 multiply-accumulates. */
static void four_channels(const ec_depthwise_conv2d_s8_params *p, const int8_t *image, const ec_taps *t, int32_t c, int8_t *out)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->in_channels;
    const int32_t offset = (int32_t)(((uint32_t)-p->input_zero_point & 0xffffu) * 0x10001u);
    const int32_t *bias = p->output.bias + c;
    int32_t acc0 = bias[0], acc1 = bias[1], acc2 = bias[2], acc3 = bias[3];
    for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
        const int8_t *in = image + ((t->iy0 + ky * w->dilation_height) * w->in_width + t->ix0 + t->kx0 * w->dilation_width) * channels + c;
        const int16_t *wt = p->weights + (ky * w->filter_width + t->kx0) * channels + c;
        for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
            const int32_t x = ec_load4(in);
            const int32_t x_even = ec_sxtab16(offset, x), x_odd = ec_sxtab16_odd(offset, x);
            const int32_t w_even = ec_load4(wt), w_odd = ec_load4(wt + 2);
            acc0 = ec_smlabb(x_even, w_even, acc0);
            acc2 = ec_smlatt(x_even, w_even, acc2);
            acc1 = ec_smlabb(x_odd, w_odd, acc1);
            acc3 = ec_smlatt(x_odd, w_odd, acc3);
            in += w->dilation_width * channels;
            wt += channels;
        }
    }
    out[c] = ec_output(&p->output, acc0, c);
    out[c + 1] = ec_output(&p->output, acc1, c + 1);
    out[c + 2] = ec_output(&p->output, acc2, c + 2);
    out[c + 3] = ec_output(&p->output, acc3, c + 3);
}

/* Output channel oc, which reads input channel ic, one tap at a time (weights in natural order). */
static int32_t one_channel(const ec_depthwise_conv2d_s8_params *p, const int8_t *image, const ec_taps *t, int32_t ic, int32_t oc)
{
    const ec_window *w = &p->window;
    int32_t acc = p->output.bias[oc];
    for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
        for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
            const int32_t iy = t->iy0 + ky * w->dilation_height, ix = t->ix0 + kx * w->dilation_width;
            const int32_t v = image[(iy * w->in_width + ix) * w->in_channels + ic] - p->input_zero_point;
            acc = ec_mla(v, p->weights[(ky * w->filter_width + kx) * w->out_channels + oc], acc);
        }
    }
    return acc;
}

void ec_depthwise_conv2d_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->in_channels;
    const int32_t whole = channels & ~3;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * channels;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < whole; c += 4) four_channels(p, image, &t, c, output);
                for (int32_t c = whole; c < channels; c++) output[c] = ec_output(&p->output, one_channel(p, image, &t, c, c), c);
            }
        }
    }
}

void ec_depthwise_conv2d_mult_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += out_c) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < out_c; c++) output[c] = ec_output(&p->output, one_channel(p, image, &t, c / p->depth_multiplier, c), c);
            }
        }
    }
}
