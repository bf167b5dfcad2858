/* Transpose convolution, int8 and float32, gathered per output value (see ec_nn.h). */
#include "ec_nn.h"

EC_NO_FP_CONTRACT

/* The input rows [*first, *end) whose tap o + pad - i * stride lies in [0, taps), for output row o. */
static void ec_transpose_sources(int32_t o, int32_t pad, int32_t stride, int32_t taps, int32_t size, int32_t *first, int32_t *end)
{
    const int32_t reach = o + pad;
    const int32_t low = reach - taps + 1;
    const int32_t last = reach / stride + 1;
    *first = low <= 0 ? 0 : (low + stride - 1) / stride;
    *end = last < size ? last : size;
}

/* The body of both kernels: for every output value in order, `start`, then `tap` for each input
 * pixel that reaches it (`in` its channels, `f` the filter tap's), then the value `finish`. */
#define EC_TRANSPOSE_CONV_WALK(type, start, tap, finish)                                                              \
    do {                                                                                                              \
        const ec_window *w = &p->window;                                                                              \
        const int32_t in_c = w->in_channels;                                                                          \
        const int32_t filter_size = w->filter_height * w->filter_width * in_c;                                        \
        for (int32_t b = 0; b < w->batches; b++) {                                                                    \
            const type *image = input + b * w->in_height * w->in_width * in_c;                                       \
            for (int32_t y = 0; y < w->out_height; y++) {                                                             \
                int32_t y0, y1;                                                                                       \
                ec_transpose_sources(y, w->pad_top, w->stride_height, w->filter_height, w->in_height, &y0, &y1);     \
                for (int32_t x = 0; x < w->out_width; x++, output += w->out_channels) {                               \
                    int32_t x0, x1;                                                                                   \
                    ec_transpose_sources(x, w->pad_left, w->stride_width, w->filter_width, w->in_width, &x0, &x1);   \
                    for (int32_t c = 0; c < w->out_channels; c++) {                                                   \
                        const type *filter = p->weights + c * filter_size;                                            \
                        start;                                                                                        \
                        for (int32_t iy = y0; iy < y1; iy++) {                                                        \
                            const int32_t ky = y + w->pad_top - iy * w->stride_height;                                \
                            for (int32_t ix = x0; ix < x1; ix++) {                                                    \
                                const int32_t kx = x + w->pad_left - ix * w->stride_width;                            \
                                const type *in = image + (iy * w->in_width + ix) * in_c;                              \
                                const type *f = filter + (ky * w->filter_width + kx) * in_c;                          \
                                tap;                                                                                  \
                            }                                                                                         \
                        }                                                                                             \
                        output[c] = (finish);                                                                         \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

EC_INLINE int8_t ec_transpose_output_s8(const ec_transpose_conv2d_s8_params *p, int32_t c, int32_t acc)
{
    if (p->bias) acc = (int32_t)((uint32_t)acc + (uint32_t)p->bias[c]);
    return ec_requantize_s8(acc, p->multiplier[c], p->shift[c], p->output_zero_point, p->act_min, p->act_max);
}

void ec_transpose_conv2d_s8(const ec_transpose_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    EC_TRANSPOSE_CONV_WALK(int8_t, int32_t acc = 0, acc = ec_dot_offsets_s8(in, f, in_c, p->input_offset, 0, acc), ec_transpose_output_s8(p, c, acc));
}

void ec_transpose_conv2d_f32(const ec_transpose_conv2d_f32_params *p, const float *input, float *output)
{
    EC_TRANSPOSE_CONV_WALK(float, float total = 0.0f, for (int32_t k = 0; k < in_c; k++) total += in[k] * f[k],
                           ec_clamp_f32(p->bias ? total + p->bias[c] : total, p->act_min, p->act_max));
}
