/* Batch matrix product, int8, int16 and float32 (see ec_nn.h). */
#include "ec_nn.h"

EC_NO_FP_CONTRACT

/* The body of both kernels: for every output value in order, `value` of the lhs row `l` and the
 * rhs column `r` it multiplies. */
#define EC_BATCH_MATMUL_WALK(s, type, value)                                                                          \
    do {                                                                                                              \
        for (int32_t b0 = 0; b0 < (s)->batches[0]; b0++) {                                                            \
            for (int32_t b1 = 0; b1 < (s)->batches[1]; b1++) {                                                        \
                for (int32_t b2 = 0; b2 < (s)->batches[2]; b2++) {                                                    \
                    const type *lhs_matrix = lhs + b0 * (s)->lhs_batch_stride[0] + b1 * (s)->lhs_batch_stride[1] +    \
                                             b2 * (s)->lhs_batch_stride[2];                                           \
                    const type *rhs_matrix = rhs + b0 * (s)->rhs_batch_stride[0] + b1 * (s)->rhs_batch_stride[1] +    \
                                             b2 * (s)->rhs_batch_stride[2];                                           \
                    for (int32_t i = 0; i < (s)->rows; i++) {                                                         \
                        const type *l = lhs_matrix + i * (s)->lhs_row_stride;                                         \
                        for (int32_t j = 0; j < (s)->cols; j++) {                                                     \
                            const type *r = rhs_matrix + j * (s)->rhs_col_stride;                                     \
                            *output++ = (value);                                                                      \
                        }                                                                                             \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

EC_INLINE int8_t ec_matmul_value_s8(const ec_batch_matmul_s8_params *p, const int8_t *l, const int8_t *r)
{
    const ec_matmul_shape *s = &p->shape;
    int32_t acc = 0;
    if (s->lhs_depth_stride == 1 && s->rhs_depth_stride == 1) {
        acc = ec_dot_offsets_s8(l, r, s->depth, p->lhs_offset, p->rhs_offset, 0);
    } else {
        for (int32_t k = 0; k < s->depth; k++) {
            acc = ec_mla((int32_t)l[k * s->lhs_depth_stride] + p->lhs_offset, (int32_t)r[k * s->rhs_depth_stride] + p->rhs_offset, acc);
        }
    }
    return ec_requantize_s8(acc, p->multiplier, p->shift, p->output_zero_point, -128, 127);
}

void ec_batch_matmul_s8(const ec_batch_matmul_s8_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output)
{
    EC_BATCH_MATMUL_WALK(&p->shape, int8_t, ec_matmul_value_s8(p, l, r));
}

EC_INLINE int16_t ec_matmul_value_s16(const ec_batch_matmul_s16_params *p, const int16_t *l, const int16_t *r)
{
    const ec_matmul_shape *s = &p->shape;
    int64_t acc = 0;
    for (int32_t k = 0; k < s->depth; k++) acc += (int32_t)l[k * s->lhs_depth_stride] * r[k * s->rhs_depth_stride];
    return (int16_t)ec_clamp_s32(ec_requantize_s64(acc, p->multiplier, p->shift), -32768, 32767);
}

void ec_batch_matmul_s16(const ec_batch_matmul_s16_params *p, const int16_t *lhs, const int16_t *rhs, int16_t *output)
{
    EC_BATCH_MATMUL_WALK(&p->shape, int16_t, ec_matmul_value_s16(p, l, r));
}

EC_INLINE float ec_matmul_value_f32(const ec_matmul_shape *s, const float *l, const float *r)
{
    float total = 0.0f;
    for (int32_t k = 0; k < s->depth; k++) total += l[k * s->lhs_depth_stride] * r[k * s->rhs_depth_stride];
    return total;
}

void ec_batch_matmul_f32(const ec_matmul_shape *p, const float *lhs, const float *rhs, float *output)
{
    EC_BATCH_MATMUL_WALK(p, float, ec_matmul_value_f32(p, l, r));
}
