/* Data-movement kernels: pad, concatenation, move, gather, resize, mean, quantize.
 *
 * Pad, concatenation, move and gather only move values, so one byte-level implementation serves int8 and
 * float32. Mean sums every output's inputs in increasing address order, the order in which
 * TensorFlow Lite Micro's reduction adds them, so float sums round identically.
 */
#include <float.h>
#include <stddef.h>
#include <string.h>
#include "ec_data.h"

EC_NO_FP_CONTRACT

static void pad_bytes(const ec_pad_params *p, size_t element_bytes, int fill, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output + (size_t)p->output_start * element_bytes;
    const size_t row_bytes = (size_t)p->rows.dims[p->rows.rank - 1] * element_bytes;
    ec_walk_pos pos;
    memset(output, fill, (size_t)p->output_count * element_bytes);
    ec_walk_start(&pos);
    do {
        memcpy(out + (size_t)pos.b * element_bytes, in + (size_t)pos.a * element_bytes, row_bytes);
    } while (ec_walk_next_row(&p->rows, &pos));
}

void ec_pad_s8(const ec_pad_params *p, int8_t pad_value, const int8_t *input, int8_t *output)
{
    pad_bytes(p, sizeof *input, (uint8_t)pad_value, input, output);
}

void ec_pad_f32(const ec_pad_params *p, const float *input, float *output)
{
    /* 0.0f is all zero bits. */
    pad_bytes(p, sizeof *input, 0, input, output);
}

static void concatenation_bytes(const ec_concatenation_params *p, size_t element_bytes, const uint8_t *const *inputs,
                                uint8_t *output)
{
    for (int32_t outer = 0; outer < p->outer; outer++) {
        for (int32_t k = 0; k < p->count; k++) {
            const size_t bytes = (size_t)p->block[k] * element_bytes;
            memcpy(output, inputs[k] + (size_t)outer * bytes, bytes);
            output += bytes;
        }
    }
}

void ec_concatenation_s8(const ec_concatenation_params *p, const int8_t *const *inputs, int8_t *output)
{
    concatenation_bytes(p, sizeof **inputs, (const uint8_t *const *)inputs, (uint8_t *)output);
}

void ec_concatenation_f32(const ec_concatenation_params *p, const float *const *inputs, float *output)
{
    concatenation_bytes(p, sizeof **inputs, (const uint8_t *const *)inputs, (uint8_t *)output);
}

static void move_bytes(const ec_move_params *p, size_t element_bytes, const uint8_t *input, uint8_t *output)
{
    const ec_walk *w = &p->walk;
    const int32_t row = w->dims[w->rank - 1];
    const int32_t step = w->stride_a[w->rank - 1];
    const uint8_t *in = input + (ptrdiff_t)p->start * (ptrdiff_t)element_bytes;
    ec_walk_pos pos;
    ec_walk_start(&pos);
    do {
        const uint8_t *from = in + (ptrdiff_t)pos.a * (ptrdiff_t)element_bytes;
        if (step == 1) {
            memcpy(output, from, (size_t)row * element_bytes);
            output += (size_t)row * element_bytes;
        } else {
            for (int32_t i = 0; i < row; i++) {
                memcpy(output, from + (ptrdiff_t)i * step * (ptrdiff_t)element_bytes, element_bytes);
                output += element_bytes;
            }
        }
    } while (ec_walk_next_row(w, &pos));
}

void ec_move_s8(const ec_move_params *p, const int8_t *input, int8_t *output)
{
    move_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

void ec_move_f32(const ec_move_params *p, const float *input, float *output)
{
    move_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

static void gather_bytes(const ec_gather_params *p, size_t element_bytes, const uint8_t *input, uint8_t *output)
{
    const size_t block = (size_t)p->inner * element_bytes;
    for (int32_t outer = 0; outer < p->outer; outer++) {
        const uint8_t *base = input + (size_t)outer * (size_t)p->axis_size * block;
        for (int32_t k = 0; k < p->count; k++) {
            memcpy(output, base + (size_t)p->indices[k] * block, block);
            output += block;
        }
    }
}

void ec_gather_s8(const ec_gather_params *p, const int8_t *input, int8_t *output)
{
    gather_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

void ec_gather_f32(const ec_gather_params *p, const float *input, float *output)
{
    gather_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

static void resize_nearest_bytes(const ec_resize_nearest_params *p, size_t element_bytes, const uint8_t *input, uint8_t *output)
{
    const size_t pixel = (size_t)p->channels * element_bytes;
    for (int32_t b = 0; b < p->batches; b++) {
        const uint8_t *image = input + (size_t)b * (size_t)p->input_height * (size_t)p->input_width * pixel;
        for (int32_t y = 0; y < p->output_height; y++) {
            const uint8_t *row = image + (size_t)p->rows[y] * (size_t)p->input_width * pixel;
            for (int32_t x = 0; x < p->output_width; x++) {
                memcpy(output, row + (size_t)p->columns[x] * pixel, pixel);
                output += pixel;
            }
        }
    }
}

void ec_resize_nearest_s8(const ec_resize_nearest_params *p, const int8_t *input, int8_t *output)
{
    resize_nearest_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

void ec_resize_nearest_f32(const ec_resize_nearest_params *p, const float *input, float *output)
{
    resize_nearest_bytes(p, sizeof *input, (const uint8_t *)input, (uint8_t *)output);
}

/* The body of both bilinear kernels: every output value in order is `blend` of the input values
 * v00, v01 (low row; low, high column) and v10, v11 (high row) with the row weights wy0, wy1 and
 * the column weights wx0, wx1. */
#define EC_RESIZE_BILINEAR_WALK(type, wtype, blend)                                                     \
    do {                                                                                                \
        const int32_t c = p->channels;                                                                  \
        const int32_t row_size = p->input_width * c;                                                    \
        for (int32_t b = 0; b < p->batches; b++) {                                                      \
            const type *image = input + b * p->input_height * row_size;                                 \
            for (int32_t y = 0; y < p->output_height; y++) {                                            \
                const type *low = image + p->rows[2 * y] * row_size;                                    \
                const type *high = image + p->rows[2 * y + 1] * row_size;                               \
                const wtype wy0 = p->row_weights[2 * y], wy1 = p->row_weights[2 * y + 1];               \
                for (int32_t x = 0; x < p->output_width; x++) {                                         \
                    const int32_t x0 = p->columns[2 * x] * c, x1 = p->columns[2 * x + 1] * c;           \
                    const wtype wx0 = p->column_weights[2 * x], wx1 = p->column_weights[2 * x + 1];     \
                    for (int32_t ch = 0; ch < c; ch++) {                                                \
                        const type v00 = low[x0 + ch], v01 = low[x1 + ch];                              \
                        const type v10 = high[x0 + ch], v11 = high[x1 + ch];                            \
                        *output++ = (blend);                                                            \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)

/* TFLite's four products regrouped (exact in integers, so the same sum), then divided by 2^20
 * rounding half away from zero. */
EC_INLINE int8_t bilinear_s8(int32_t v00, int32_t v01, int32_t v10, int32_t v11, int32_t wy0, int32_t wy1, int32_t wx0, int32_t wx1)
{
    const int32_t sum = (v00 * wx0 + v01 * wx1) * wy0 + (v10 * wx0 + v11 * wx1) * wy1;
    return (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

void ec_resize_bilinear_s8(const ec_resize_bilinear_s8_params *p, const int8_t *input, int8_t *output)
{
    EC_RESIZE_BILINEAR_WALK(int8_t, int32_t, bilinear_s8(v00, v01, v10, v11, wy0, wy1, wx0, wx1));
}

void ec_resize_bilinear_f32(const ec_resize_bilinear_f32_params *p, const float *input, float *output)
{
    /* TFLite's order; its + 0.0f rounding offset turns a -0 sum into +0. */
    EC_RESIZE_BILINEAR_WALK(float, float, v00 * wy0 * wx0 + v10 * wy1 * wx0 + v01 * wy0 * wx1 + v11 * wy1 * wx1 + 0.0f);
}

#define EC_ARG_MIN_MAX(name, type, better)                                            \
    void name(const ec_arg_min_max_params *p, const type *input, int32_t *output)        \
    {                                                                                     \
        for (int32_t o = 0; o < p->outer; o++) {                                          \
            const type *block = input + o * p->axis_size * p->inner;                      \
            for (int32_t i = 0; i < p->inner; i++) {                                      \
                type best = block[i];                                                     \
                int32_t index = 0;                                                        \
                for (int32_t k = 1; k < p->axis_size; k++) {                              \
                    const type v = block[k * p->inner + i];                               \
                    if (v better best) {                                                  \
                        best = v;                                                         \
                        index = k;                                                        \
                    }                                                                     \
                }                                                                         \
                *output++ = index;                                                        \
            }                                                                             \
        }                                                                                 \
    }

EC_ARG_MIN_MAX(ec_arg_max_s8, int8_t, >)
EC_ARG_MIN_MAX(ec_arg_min_s8, int8_t, <)
EC_ARG_MIN_MAX(ec_arg_max_f32, float, >)
EC_ARG_MIN_MAX(ec_arg_min_f32, float, <)

void ec_mean_s8(const ec_reduction *r, const ec_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    /* Sums wrap in 32 bits as the reference's do (only possible beyond 2^24 elements per output). */
    const uint32_t zero_point_sum = (uint32_t)p->input_zero_point * (uint32_t)r->count;
    ec_walk_pos kept;
    ec_walk_start(&kept);
    do {
        uint32_t sum = 0;
        if (r->reduced.rank == 1) {
            /* One reduced dimension once merged (a global average pool's rows and columns): a plain
             * strided loop instead of the walk's carries. */
            const int8_t *x = input + kept.a;
            const int32_t step = r->reduced.stride_a[0];
            for (int32_t i = r->reduced.dims[0]; i > 0; i--, x += step) sum += (uint32_t)(int32_t)*x;
        } else {
            ec_walk_pos reduced;
            ec_walk_start(&reduced);
            do {
                sum += (uint32_t)(int32_t)input[kept.a + reduced.a];
            } while (ec_walk_next(&r->reduced, &reduced));
        }
        *output++ = ec_requantize_s8((int32_t)(sum - zero_point_sum), p->multiplier, p->shift, p->output_zero_point, -128, 127);
    } while (ec_walk_next(&r->kept, &kept));
}

static float sum_f32(const ec_reduction *r, const float *input)
{
    float sum = 0.0f;
    ec_walk_pos reduced;
    ec_walk_start(&reduced);
    do {
        sum += input[reduced.a];
    } while (ec_walk_next(&r->reduced, &reduced));
    return sum;
}

void ec_sum_f32(const ec_reduction *r, const float *input, float *output)
{
    ec_walk_pos kept;
    ec_walk_start(&kept);
    do {
        *output++ = sum_f32(r, input + kept.a);
    } while (ec_walk_next(&r->kept, &kept));
}

#define EC_REDUCE_MAX(name, type, lowest)                          \
    void name(const ec_reduction *r, const type *input, type *output) \
    {                                                              \
        ec_walk_pos kept;                                          \
        ec_walk_start(&kept);                                      \
        do {                                                       \
            type max = lowest;                                     \
            ec_walk_pos reduced;                                   \
            ec_walk_start(&reduced);                               \
            do {                                                   \
                const type v = input[kept.a + reduced.a];          \
                if (v > max) max = v;                              \
            } while (ec_walk_next(&r->reduced, &reduced));         \
            *output++ = max;                                       \
        } while (ec_walk_next(&r->kept, &kept));                   \
    }

EC_REDUCE_MAX(ec_reduce_max_s8, int8_t, -128)
EC_REDUCE_MAX(ec_reduce_max_f32, float, -FLT_MAX)

void ec_mean_f32(const ec_reduction *r, const float *input, float *output)
{
    const float count = (float)r->count;
    ec_walk_pos kept;
    ec_walk_start(&kept);
    do {
        *output++ = sum_f32(r, input + kept.a) / count;
    } while (ec_walk_next(&r->kept, &kept));
}

/* round(v) with halves away from zero, plus the zero point, clamped to [min, max]. Quotients at or
 * beyond +-limit (the type's span: no zero point brings them back in range) saturate, and NaN
 * gives the minimum, as in the host reference; C's float-to-int conversion is undefined for those. */
EC_INLINE int32_t ec_quantize_value(float v, int32_t zero_point, int32_t min, int32_t max, float limit)
{
    if (!(v > -limit)) return min;
    if (v >= limit) return max;
    /* v - t is exact below 2^23. */
    int32_t t = (int32_t)v;
    const float fraction = v - (float)t;
    if (fraction >= 0.5f) t++;
    else if (fraction <= -0.5f) t--;
    return ec_clamp_s32(t + zero_point, min, max);
}

void ec_quantize_s8(const ec_quantize_s8_params *p, const float *input, int8_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (int8_t)ec_quantize_value(input[i] / p->scale, p->zero_point, -128, 127, 256.0f);
}

void ec_quantize_s16(const ec_quantize_s16_params *p, const float *input, int16_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (int16_t)ec_quantize_value(input[i] / p->scale, p->zero_point, -32768, 32767, 65536.0f);
}

void ec_dequantize_s16(const ec_dequantize_s16_params *p, const int16_t *input, float *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
}

EC_INLINE int32_t requantize_s16(const ec_requantize_s16_params *p, int16_t x)
{
    return ec_clamp_s32(ec_requantize(x - p->input_zero_point, p->multiplier, p->shift) + p->output_zero_point, p->min, p->max);
}

void ec_requantize_s16_s8(const ec_requantize_s16_params *p, const int16_t *input, int8_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (int8_t)requantize_s16(p, input[i]);
}

void ec_requantize_s16_s16(const ec_requantize_s16_params *p, const int16_t *input, int16_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = (int16_t)requantize_s16(p, input[i]);
}

void ec_requantize_s16_s32(const ec_requantize_s16_params *p, const int16_t *input, int32_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) output[i] = requantize_s16(p, input[i]);
}
