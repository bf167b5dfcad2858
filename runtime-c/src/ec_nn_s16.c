/* 16x8 fully connected, conv and depthwise conv (int16 activations, int8 weights) as TFLite
 * Micro's reference kernels compute them. Dot products of int16 values go two at a time through
 * SMLAD (plain C without the DSP extension) into int32 partial sums short enough not to overflow,
 * gathered in int64. */
#include "ec_nn.h"

/* Values per int32 partial sum: 128 SMLADs of two products below 2^22 each stay below 2^30. */
#define PARTIAL 256

/* sum of a[k] * b[k] over n int16 pairs, exactly. */
static int64_t dot_s16(const int16_t *a, const int16_t *b, int32_t n)
{
    int64_t total = 0;
    while (n > 0) {
        const int32_t m = n < PARTIAL ? n : PARTIAL;
        int32_t acc = 0, k = 0;
        for (; k + 2 <= m; k += 2) acc = ec_smlad(ec_load4(a + k), ec_load4(b + k), acc);
        if (k < m) acc += a[k] * b[k];
        total += acc;
        a += m;
        b += m;
        n -= m;
    }
    return total;
}

/* Channel c's sum to its output value. */
static int16_t output_s16(const ec_output_s16 *o, int64_t acc, int32_t c)
{
    const int32_t q = o->per_channel ? c : 0;
    if (o->bias) acc += o->bias[c];
    const int32_t v = o->wide ? ec_requantize_s64(acc, o->multiplier[q], o->shift[q])
                              : ec_requantize((int32_t)(uint32_t)(uint64_t)acc, o->multiplier[q], o->shift[q]);
    return (int16_t)ec_clamp_s32(v, o->act_min, o->act_max);
}

void ec_fully_connected_s16(const ec_fully_connected_s16_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t r = 0; r < p->rows; r++, input += p->depth, output += p->units) {
        for (int32_t u = 0; u < p->units; u++) output[u] = output_s16(&p->output, dot_s16(p->weights + u * p->depth, input, p->depth), u);
    }
}

void ec_conv2d_s16(const ec_conv2d_s16_params *p, const int16_t *input, int16_t *output)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t filter_size = w->filter_height * w->filter_width * in_c;
    for (int32_t b = 0; b < w->batches; b++) {
        const int16_t *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += w->out_channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < w->out_channels; c++) {
                    const int16_t *filter = p->weights + c * filter_size;
                    int64_t acc = 0;
                    for (int32_t ky = t.ky0; ky < t.ky1; ky++) {
                        for (int32_t kx = t.kx0; kx < t.kx1; kx++) {
                            const int32_t iy = t.iy0 + ky * w->dilation_height, ix = t.ix0 + kx * w->dilation_width;
                            acc += dot_s16(image + (iy * w->in_width + ix) * in_c, filter + (ky * w->filter_width + kx) * in_c, in_c);
                        }
                    }
                    output[c] = output_s16(&p->output, acc, c);
                }
            }
        }
    }
}

void ec_depthwise_conv2d_s16(const ec_depthwise_conv2d_s16_params *p, const int16_t *input, int16_t *output)
{
    const ec_window *w = &p->window;
    for (int32_t b = 0; b < w->batches; b++) {
        const int16_t *image = input + b * w->in_height * w->in_width * w->in_channels;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += w->out_channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < w->out_channels; c++) {
                    int64_t acc = 0;
                    for (int32_t ky = t.ky0; ky < t.ky1; ky++) {
                        for (int32_t kx = t.kx0; kx < t.kx1; kx++) {
                            const int32_t iy = t.iy0 + ky * w->dilation_height, ix = t.ix0 + kx * w->dilation_width;
                            acc += image[(iy * w->in_width + ix) * w->in_channels + c / p->depth_multiplier] *
                                   p->weights[(ky * w->filter_width + kx) * w->out_channels + c];
                        }
                    }
                    output[c] = output_s16(&p->output, acc, c);
                }
            }
        }
    }
}
