/* Average and max pooling, int8, int16 and float32, over the taps of each window that lie inside the
 * input: TFLite never reads the padding and leaves it out of the average's divisor too. */
#include <float.h>

#include "ec_nn.h"

typedef void pixel_fn(const void *params, const ec_window *w, const ec_taps *t, const void *image, void *out);

/* pixel() for every output pixel in order, with the image of its batch; element is the value size. */
static void each_pixel(const ec_window *w, size_t element, const void *input, void *output, pixel_fn *pixel, const void *params)
{
    const size_t image_bytes = (size_t)w->in_height * (size_t)w->in_width * (size_t)w->in_channels * element;
    const size_t pixel_bytes = (size_t)w->out_channels * element;
    char *out = (char *)output;
    for (int32_t b = 0; b < w->batches; b++) {
        const char *image = (const char *)input + (size_t)b * image_bytes;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, out += pixel_bytes) {
                const ec_taps t = ec_taps_at(w, y, x);
                pixel(params, w, &t, image, out);
            }
        }
    }
}

/* Index of channel c of tap (ky, kx) in the image. */
static int32_t at(const ec_window *w, const ec_taps *t, int32_t ky, int32_t kx, int32_t c)
{
    return ((t->iy0 + ky) * w->in_width + t->ix0 + kx) * w->in_channels + c;
}

/* The integer pixel functions for one value type (int8_t, int16_t): raw values, so one body serves
 * both; the average rounds half away from zero (C's division truncates toward zero). */
#define EC_POOL_INTEGER(type, suffix, lowest)                                                                   \
    static void avg_##suffix(const void *params, const ec_window *w, const ec_taps *t, const void *image, void *out) \
    {                                                                                                           \
        const ec_pool_q_params *p = (const ec_pool_q_params *)params;                                           \
        const type *in = (const type *)image;                                                                   \
        const int32_t count = (t->ky1 - t->ky0) * (t->kx1 - t->kx0);                                            \
        for (int32_t c = 0; c < w->out_channels; c++) {                                                         \
            int32_t sum = 0;                                                                                    \
            for (int32_t ky = t->ky0; ky < t->ky1; ky++) {                                                      \
                for (int32_t kx = t->kx0; kx < t->kx1; kx++) sum += in[at(w, t, ky, kx, c)];                    \
            }                                                                                                   \
            const int32_t average = count <= 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count; \
            ((type *)out)[c] = (type)ec_clamp_s32(average, p->act_min, p->act_max);                             \
        }                                                                                                       \
    }                                                                                                           \
    static void max_##suffix(const void *params, const ec_window *w, const ec_taps *t, const void *image, void *out) \
    {                                                                                                           \
        const ec_pool_q_params *p = (const ec_pool_q_params *)params;                                           \
        const type *in = (const type *)image;                                                                   \
        for (int32_t c = 0; c < w->out_channels; c++) {                                                         \
            int32_t max = lowest;                                                                               \
            for (int32_t ky = t->ky0; ky < t->ky1; ky++) {                                                      \
                for (int32_t kx = t->kx0; kx < t->kx1; kx++) max = ec_max_s32(max, in[at(w, t, ky, kx, c)]);    \
            }                                                                                                   \
            ((type *)out)[c] = (type)ec_clamp_s32(max, p->act_min, p->act_max);                                 \
        }                                                                                                       \
    }

EC_POOL_INTEGER(int8_t, s8, INT8_MIN)
EC_POOL_INTEGER(int16_t, s16, INT16_MIN)

static void avg_f32(const void *params, const ec_window *w, const ec_taps *t, const void *image, void *out)
{
    const ec_pool_f32_params *p = (const ec_pool_f32_params *)params;
    const float *in = (const float *)image;
    for (int32_t c = 0; c < w->out_channels; c++) {
        float total = 0.0f;
        float count = 0.0f;
        for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
            for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
                total += in[at(w, t, ky, kx, c)];
                count += 1.0f;
            }
        }
        ((float *)out)[c] = ec_clamp_f32(total / count, p->act_min, p->act_max);
    }
}

static void max_f32(const void *params, const ec_window *w, const ec_taps *t, const void *image, void *out)
{
    const ec_pool_f32_params *p = (const ec_pool_f32_params *)params;
    const float *in = (const float *)image;
    for (int32_t c = 0; c < w->out_channels; c++) {
        /* Starts at the lowest finite float and keeps it against NaN, as std::max does in TFLite. */
        float max = -FLT_MAX;
        for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
            for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
                const float v = in[at(w, t, ky, kx, c)];
                if (max < v) max = v;
            }
        }
        ((float *)out)[c] = ec_clamp_f32(max, p->act_min, p->act_max);
    }
}

void ec_avgpool_s8(const ec_pool_q_params *p, const int8_t *input, int8_t *output)
{
    each_pixel(&p->window, sizeof(int8_t), input, output, avg_s8, p);
}

void ec_maxpool_s8(const ec_pool_q_params *p, const int8_t *input, int8_t *output)
{
    each_pixel(&p->window, sizeof(int8_t), input, output, max_s8, p);
}

void ec_avgpool_s16(const ec_pool_q_params *p, const int16_t *input, int16_t *output)
{
    each_pixel(&p->window, sizeof(int16_t), input, output, avg_s16, p);
}

void ec_maxpool_s16(const ec_pool_q_params *p, const int16_t *input, int16_t *output)
{
    each_pixel(&p->window, sizeof(int16_t), input, output, max_s16, p);
}

void ec_avgpool_f32(const ec_pool_f32_params *p, const float *input, float *output)
{
    each_pixel(&p->window, sizeof(float), input, output, avg_f32, p);
}

void ec_maxpool_f32(const ec_pool_f32_params *p, const float *input, float *output)
{
    each_pixel(&p->window, sizeof(float), input, output, max_f32, p);
}
