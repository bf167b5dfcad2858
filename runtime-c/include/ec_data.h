/* Data-movement kernels (pad, concatenation, move, gather, mean, quantize) and the index walk that element-wise
 * kernels share with them.
 *
 * Shapes are fixed when the model is compiled, so the generator describes every multi-dimensional
 * loop as an ec_walk with neighbouring dimensions already merged: most walks the device runs are
 * one or two dimensions deep, whatever the rank of the tensors.
 */
#ifndef EC_DATA_H
#define EC_DATA_H

#include <stdint.h>
#include "ec_common.h"

#define EC_WALK_MAX_DIMS 6

/* A row-major walk over `dims` that moves two element offsets, `a` and `b`, by per-dimension
 * strides (0 along a dimension an operand is broadcast over). Kernels step it element by element
 * (ec_walk_next), or row by row (ec_walk_next_row) and run through the innermost dimension
 * themselves, with its strides as the steps inside a row. */
typedef struct {
    int32_t rank; /* 1 .. EC_WALK_MAX_DIMS */
    int32_t dims[EC_WALK_MAX_DIMS];
    int32_t stride_a[EC_WALK_MAX_DIMS];
    int32_t stride_b[EC_WALK_MAX_DIMS];
} ec_walk;

/* Where a walk is: the current index and the two offsets there. */
typedef struct {
    int32_t index[EC_WALK_MAX_DIMS];
    int32_t a;
    int32_t b;
} ec_walk_pos;

EC_INLINE void ec_walk_start(ec_walk_pos *pos)
{
    for (int32_t d = 0; d < EC_WALK_MAX_DIMS; d++) pos->index[d] = 0;
    pos->a = 0;
    pos->b = 0;
}

/* Counts the index up at dimension `dim`, carrying into the dimensions outside it (those inside
 * it stay where they are); returns 0, leaving the position undefined, when the walk is over. */
EC_INLINE int ec_walk_advance(const ec_walk *w, ec_walk_pos *pos, int32_t dim)
{
    for (int32_t d = dim; d >= 0; d--) {
        pos->a += w->stride_a[d];
        pos->b += w->stride_b[d];
        if (++pos->index[d] < w->dims[d]) return 1;
        pos->a -= w->stride_a[d] * w->dims[d];
        pos->b -= w->stride_b[d] * w->dims[d];
        pos->index[d] = 0;
    }
    return 0;
}

/* Moves to the next row (for kernels that run through rows themselves). */
EC_INLINE int ec_walk_next_row(const ec_walk *w, ec_walk_pos *pos) { return ec_walk_advance(w, pos, w->rank - 2); }

/* Moves to the next element. */
EC_INLINE int ec_walk_next(const ec_walk *w, ec_walk_pos *pos) { return ec_walk_advance(w, pos, w->rank - 1); }

/* ---- pad: the output is filled with the pad value, then every input row is copied into place. */

typedef struct {
    /* Over the input's rows: stride_a steps through the input, stride_b through the output. */
    ec_walk rows;
    int32_t output_start; /* output offset of input element 0 (the padding before it) */
    int32_t output_count; /* elements of the output */
} ec_pad_params;

void ec_pad_s8(const ec_pad_params *p, int8_t pad_value, const int8_t *input, int8_t *output);
/* Pads with 0.0f. */
void ec_pad_f32(const ec_pad_params *p, const float *input, float *output);

/* ---- concatenation: for each index before the axis, each input's block in turn. */

typedef struct {
    int32_t outer;        /* product of the dimensions before the axis */
    int32_t count;        /* number of inputs */
    const int32_t *block; /* per input: its length along the axis times the dimensions after it */
} ec_concatenation_params;

void ec_concatenation_s8(const ec_concatenation_params *p, const int8_t *const *inputs, int8_t *output);
void ec_concatenation_f32(const ec_concatenation_params *p, const float *const *inputs, float *output);

/* ---- move: strided slice, transpose, space-to-depth and depth-to-space. Output elements are
 * written in order; each is read from the input at `start` plus the walk's stride_a offsets (which
 * may be negative: a slice that steps backwards). stride_b steps through the output, contiguously.
 * Input and output must not overlap. */

typedef struct {
    ec_walk walk;
    int32_t start;
} ec_move_params;

void ec_move_s8(const ec_move_params *p, const int8_t *input, int8_t *output);
void ec_move_f32(const ec_move_params *p, const float *input, float *output);

/* ---- gather along one axis at indices fixed when the model was compiled (all inside the axis). */

typedef struct {
    int32_t outer;          /* product of the dimensions before the axis */
    int32_t axis_size;      /* length of the axis */
    int32_t inner;          /* product of the dimensions after it: the block one index copies */
    int32_t count;          /* number of indices */
    const int32_t *indices; /* each in [0, axis_size) */
} ec_gather_params;

void ec_gather_s8(const ec_gather_params *p, const int8_t *input, int8_t *output);
void ec_gather_f32(const ec_gather_params *p, const float *input, float *output);

/* ---- nearest-neighbour resize of NHWC images: every output pixel is the input pixel at the
 * tabulated row and column (computed when the model was compiled, as TFLite rounds them). */

typedef struct {
    int32_t batches, input_height, input_width, channels;
    int32_t output_height, output_width;
    const int32_t *rows;    /* output_height entries in [0, input_height) */
    const int32_t *columns; /* output_width entries in [0, input_width) */
} ec_resize_nearest_params;

void ec_resize_nearest_s8(const ec_resize_nearest_params *p, const int8_t *input, int8_t *output);
void ec_resize_nearest_f32(const ec_resize_nearest_params *p, const float *input, float *output);

/* ---- bilinear resize of NHWC images (TFLite's RESIZE_BILINEAR): every output value blends the four
 * input values at a tabulated pair of rows and pair of columns, with tabulated weights (computed
 * when the model was compiled, as TFLite computes them). Output must not overlap the input. */

/* Per output row its low and high input rows in [0, input_height) and their weights; per output
 * column the same. int8 (raw values: the output has the input's quantization): weights 1024 - f and
 * f, f in (-512, 1024) (so every sum stays within 2^29), the sum divided by 2^20, rounding half away
 * from zero as TFLite's default build does. float32: weights 1 - f and f; products and sums in
 * TFLite's order. */
typedef struct {
    int32_t batches, input_height, input_width, channels;
    int32_t output_height, output_width;
    const int32_t *rows;           /* two entries per output row: low, high */
    const int32_t *columns;        /* two entries per output column */
    const int32_t *row_weights;    /* two per output row: weight low, weight high (1/1024 steps) */
    const int32_t *column_weights; /* two per output column */
} ec_resize_bilinear_s8_params;

void ec_resize_bilinear_s8(const ec_resize_bilinear_s8_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t batches, input_height, input_width, channels;
    int32_t output_height, output_width;
    const int32_t *rows;
    const int32_t *columns;
    const float *row_weights;
    const float *column_weights;
} ec_resize_bilinear_f32_params;

void ec_resize_bilinear_f32(const ec_resize_bilinear_f32_params *p, const float *input, float *output);

/* ---- arg max and arg min along one axis: per (outer, inner) pair the index of the first largest
 * (smallest) of axis_size values inner apart, compared raw; a NaN never wins, nor loses if first. */
typedef struct {
    int32_t outer, axis_size, inner;
} ec_arg_min_max_params;

void ec_arg_max_s8(const ec_arg_min_max_params *p, const int8_t *input, int32_t *output);
void ec_arg_min_s8(const ec_arg_min_max_params *p, const int8_t *input, int32_t *output);
void ec_arg_max_f32(const ec_arg_min_max_params *p, const float *input, int32_t *output);
void ec_arg_min_f32(const ec_arg_min_max_params *p, const float *input, int32_t *output);

/* ---- mean, sum and max over some axes. */

/* Output elements in order, and for each the input elements it averages, in increasing address
 * order (the order float sums must follow to round as the reference does). */
typedef struct {
    ec_walk kept;    /* the kept dimensions: stride_a steps through the input; stride_b unused */
    ec_walk reduced; /* the reduced dimensions: stride_a steps through the input; stride_b unused */
    int32_t count;   /* input elements per output element */
} ec_reduction;

typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    /* Input scale / output scale / count, folded together as TFLite Micro folds them. */
    int32_t multiplier;
    int32_t shift;
} ec_mean_s8_params;

void ec_mean_s8(const ec_reduction *r, const ec_mean_s8_params *p, const int8_t *input, int8_t *output);
void ec_mean_f32(const ec_reduction *r, const float *input, float *output);
/* SUM: int8 through ec_mean_s8 with a multiplier that holds no count; float32 sums only. */
void ec_sum_f32(const ec_reduction *r, const float *input, float *output);

/* REDUCE_MAX: each output starts at the type's lowest value (-128, -FLT_MAX) and takes every input
 * that is larger, in input order, as TFLite Micro does (a NaN never wins; all -inf gives -FLT_MAX).
 * int8 input and output share their quantization. */
void ec_reduce_max_s8(const ec_reduction *r, const int8_t *input, int8_t *output);
void ec_reduce_max_f32(const ec_reduction *r, const float *input, float *output);

/* ---- quantize float32 -> int8 or int16: round(x / scale) + zero point, saturated. */

typedef struct {
    float scale;
    int32_t zero_point;
} ec_quantize_s8_params;

/* The same fields: the int16 input of a 16x8 model. */
typedef ec_quantize_s8_params ec_quantize_s16_params;

void ec_quantize_s8(const ec_quantize_s8_params *p, const float *input, int8_t *output, int32_t count);
void ec_quantize_s16(const ec_quantize_s16_params *p, const float *input, int16_t *output, int32_t count);

/* ---- dequantize int16 -> float32: scale * (x - zero point), one float32 product of exact
 * operands (what TFLite's double product rounded to float gives). */

typedef struct {
    float scale;
    int32_t zero_point;
} ec_dequantize_s16_params;

void ec_dequantize_s16(const ec_dequantize_s16_params *p, const int16_t *input, float *output, int32_t count);

/* ---- requantize int16 -> int8, int16 or int32: requantize(x - input zero point) + output zero
 * point, clamped to [min, max] (the output type's range). May run in place only for int16 output
 * (the planner gives an in-place output only when both types have the same size). */

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    int32_t min, max;
} ec_requantize_s16_params;

void ec_requantize_s16_s8(const ec_requantize_s16_params *p, const int16_t *input, int8_t *output, int32_t count);
void ec_requantize_s16_s16(const ec_requantize_s16_params *p, const int16_t *input, int16_t *output, int32_t count);
void ec_requantize_s16_s32(const ec_requantize_s16_params *p, const int16_t *input, int32_t *output, int32_t count);

#endif /* EC_DATA_H */
