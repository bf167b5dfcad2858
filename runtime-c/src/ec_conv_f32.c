/* float32 convolution in TFLite's reference order: for each output value, taps row by row, then
 * input channels, skipping the padding; the bias is added last. The order fixes the rounding, so
 * results are bit-exact with TFLite (products and sums are never fused, see EC_NO_FP_CONTRACT). */
#include "ec_nn.h"

EC_NO_FP_CONTRACT

void ec_conv2d_f32(const ec_conv2d_f32_params *p, const float *input, float *output)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t filter_size = w->filter_height * w->filter_width * in_c;
    for (int32_t b = 0; b < w->batches; b++) {
        const float *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += w->out_channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < w->out_channels; c++) {
                    const float *filter = p->weights + c * filter_size;
                    float total = 0.0f;
                    for (int32_t ky = t.ky0; ky < t.ky1; ky++) {
                        for (int32_t kx = t.kx0; kx < t.kx1; kx++) {
                            const int32_t iy = t.iy0 + ky * w->dilation_height, ix = t.ix0 + kx * w->dilation_width;
                            const float *in = image + (iy * w->in_width + ix) * in_c;
                            const float *f = filter + (ky * w->filter_width + kx) * in_c;
                            for (int32_t i = 0; i < in_c; i++) total += in[i] * f[i];
                        }
                    }
                    output[c] = ec_clamp_f32(total + p->bias[c], p->act_min, p->act_max);
                }
            }
        }
    }
}
