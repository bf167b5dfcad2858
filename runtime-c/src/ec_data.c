/* Data-movement kernels: pad, concatenation, mean, quantize.
 *
 * Pad and concatenation only move values, so one byte-level implementation serves int8 and
 * float32. Mean sums every output's inputs in increasing address order, the order in which
 * TensorFlow Lite Micro's reduction adds them, so float sums round identically.
 */
#include <string.h>
#include "ec_data.h"

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

void ec_mean_s8(const ec_reduction *r, const ec_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    /* Sums wrap in 32 bits as the reference's do (only possible beyond 2^24 elements per output). */
    const uint32_t zero_point_sum = (uint32_t)p->input_zero_point * (uint32_t)r->count;
    ec_walk_pos kept;
    ec_walk_start(&kept);
    do {
        uint32_t sum = 0;
        ec_walk_pos reduced;
        ec_walk_start(&reduced);
        do {
            sum += (uint32_t)(int32_t)input[kept.a + reduced.a];
        } while (ec_walk_next(&r->reduced, &reduced));
        *output++ = ec_requantize_s8((int32_t)(sum - zero_point_sum), p->multiplier, p->shift, p->output_zero_point, -128, 127);
    } while (ec_walk_next(&r->kept, &kept));
}

void ec_mean_f32(const ec_reduction *r, const float *input, float *output)
{
    const float count = (float)r->count;
    ec_walk_pos kept;
    ec_walk_start(&kept);
    do {
        float sum = 0.0f;
        ec_walk_pos reduced;
        ec_walk_start(&reduced);
        do {
            sum += input[kept.a + reduced.a];
        } while (ec_walk_next(&r->reduced, &reduced));
        *output++ = sum / count;
    } while (ec_walk_next(&r->kept, &kept));
}

void ec_quantize_s8(const ec_quantize_s8_params *p, const float *input, int8_t *output, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const float v = input[i] / p->scale;
        int32_t q;
        /* Quotients beyond +-256 saturate whatever the zero point, and NaN gives the minimum, as
         * in the host reference; C's float-to-int conversion is undefined for those anyway. */
        if (!(v > -256.0f)) {
            q = -128;
        } else if (v >= 256.0f) {
            q = 127;
        } else {
            /* round() with halves away from zero; v - t is exact below 2^23. */
            int32_t t = (int32_t)v;
            const float fraction = v - (float)t;
            if (fraction >= 0.5f) t++;
            else if (fraction <= -0.5f) t--;
            q = ec_clamp_s32(t + p->zero_point, -128, 127);
        }
        output[i] = (int8_t)q;
    }
}
