/* float32 depthwise convolution in TFLite's reference order (taps row by row, padding skipped,
 * bias added last), so that results are bit-exact with TFLite. */
#include "ec_nn.h"

EC_NO_FP_CONTRACT

void ec_depthwise_conv2d_f32(const ec_depthwise_conv2d_f32_params *p, const float *input, float *output)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    for (int32_t b = 0; b < w->batches; b++) {
        const float *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += out_c) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < out_c; c++) {
                    const int32_t ic = c / p->depth_multiplier;
                    float total = 0.0f;
                    for (int32_t ky = t.ky0; ky < t.ky1; ky++) {
                        for (int32_t kx = t.kx0; kx < t.kx1; kx++) {
                            const int32_t iy = t.iy0 + ky * w->dilation_height, ix = t.ix0 + kx * w->dilation_width;
                            total += image[(iy * w->in_width + ix) * in_c + ic] * p->weights[(ky * w->filter_width + kx) * out_c + c];
                        }
                    }
                    output[c] = ec_clamp_f32(total + p->bias[c], p->act_min, p->act_max);
                }
            }
        }
    }
}
