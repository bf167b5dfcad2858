/* The multiply-accumulate kernels (convolution, depthwise convolution, fully connected) and pooling.
 *
 * Every int8 kernel computes what TensorFlow Lite Micro's reference kernel computes, bit for bit.
 * Tensors are NHWC. Parameters live in `static const` structs that the code generator writes;
 * input, output and scratch pointers are passed to each call because they point into the arena.
 *
 * int8 weights are symmetric (zero point 0) and the bias is the model's own int32 bias (zeros when
 * it has none). Kernels subtract the input zero point as they widen input bytes to 16 bits, which
 * costs nothing on the DSP (SXTAB16), and let taps in the padding contribute nothing, as TFLite does.
 *
 * In place, partly: the memory plan may put an int8 conv's, depthwise conv's or pool's output over
 * the input rows the kernel is done with (src/plan/lifetimes.ts, streamingGap), the output starting
 * that many bytes before the input. Their kernels (and a 1x1 conv run as fully connected over the
 * pixels) must therefore write output pixels in row-major order and must not read an input row
 * above the current output row's window once they have written that row's first byte. */
#ifndef EC_NN_H
#define EC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "ec_common.h"

/* A sliding window over an NHWC input (convolution, depthwise convolution, pooling). */
typedef struct {
    int32_t batches;
    int32_t in_height, in_width, in_channels;
    int32_t out_height, out_width, out_channels;
    int32_t filter_height, filter_width;
    int32_t stride_height, stride_width;
    int32_t dilation_height, dilation_width;
    /* Implicit padding rows above and columns left of the input (SAME padding puts the odd one after). */
    int32_t pad_top, pad_left;
} ec_window;

/* The filter taps of output pixel (y, x) that read the input rather than the padding:
 * rows ky0 <= ky < ky1 and columns kx0 <= kx < kx1 (empty when the bounds cross), and the input
 * position (iy0, ix0) of tap (0, 0), which may lie in the padding. */
typedef struct {
    int32_t iy0, ix0;
    int32_t ky0, ky1, kx0, kx1;
} ec_taps;

/* Taps k in [*first, *end) with origin + k * dilation in [0, size). Away from the borders (the
 * common case) without a division. */
EC_INLINE void ec_tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size, int32_t *first, int32_t *end)
{
    const int32_t room = size - origin;
    *first = origin >= 0 ? 0 : (dilation - 1 - origin) / dilation;
    if (room > (taps - 1) * dilation) {
        *end = taps;
    } else {
        *end = room <= 0 ? 0 : (room + dilation - 1) / dilation;
    }
}

EC_INLINE ec_taps ec_taps_at(const ec_window *w, int32_t y, int32_t x)
{
    ec_taps t;
    t.iy0 = y * w->stride_height - w->pad_top;
    t.ix0 = x * w->stride_width - w->pad_left;
    ec_tap_range(t.iy0, w->dilation_height, w->filter_height, w->in_height, &t.ky0, &t.ky1);
    ec_tap_range(t.ix0, w->dilation_width, w->filter_width, w->in_width, &t.kx0, &t.kx1);
    return t;
}

/* From an int32 accumulator to int8, per output channel. */
typedef struct {
    const int32_t *bias;
    /* Two words per channel, read together: the Q0.31 multiplier, then ~shift, the bitwise
     * complement of TFLite's shift (> 0 shifts left); for a right shift r that is r - 1, the
     * operand of the fast path. */
    const int32_t *requant;
    int32_t output_zero_point;
    int32_t act_min, act_max;  /* the fused activation, in output steps */
    /* 1 when the generator has proved from the weights that every shift is negative and every
     * accumulator lies in [-2^30, 2^30) (|bias| + 255 * sum of |weights| < 2^30 per channel), so
     * requantization can skip its checks: ec_requantize_fast. */
    int32_t fast;
} ec_output_s8;

/* The accumulator of output channel c, requantized, offset and clamped. Kernels pass o->fast as
 * the constant `fast` from loops they compile once for each value. */
EC_INLINE int32_t ec_output(const ec_output_s8 *o, int32_t acc, int32_t c, int32_t fast)
{
    const int32_t *q = o->requant + 2 * c;
    const int32_t y = fast ? ec_requantize_fast_offset(acc, q[0], q[1], 2 * o->output_zero_point + 1)
                           : ec_requantize(acc, q[0], ~q[1]) + o->output_zero_point;
    return ec_clamp_s32(y, o->act_min, o->act_max);
}

/* ec_output when o->fast, given q = o->requant + 2 * c and zero_point2 = 2 * o->output_zero_point + 1.
 * `full` (a constant) says the activation clips nothing the int8 range does not (no activation, or
 * one such as ReLU6 that the output range already clips): then one SSAT clamps. */
EC_INLINE int8_t ec_output_fast(const ec_output_s8 *o, int32_t acc, const int32_t *q, int32_t zero_point2, int32_t full)
{
    const int32_t y = ec_requantize_fast_offset(acc, q[0], q[1], zero_point2);
    return full ? ec_sat_s8(y) : (int8_t)ec_clamp_s32(y, o->act_min, o->act_max);
}

/* Output channels 0 .. n - 1 from their accumulators. */
EC_INLINE void ec_output_row(const ec_output_s8 *o, const int32_t *acc, int32_t n, int8_t *out)
{
    /* A copy the stores cannot alias, so its fields stay in registers. */
    const ec_output_s8 k = *o;
    if (!k.fast) {
        for (int32_t i = 0; i < n; i++) out[i] = (int8_t)ec_output(&k, acc[i], i, 0);
        return;
    }
    const int32_t *q = k.requant;
    const int32_t zero_point2 = 2 * k.output_zero_point + 1;
    if (k.act_min == -128 && k.act_max == 127) {
        for (int32_t i = n; i > 0; i--, q += 2) *out++ = ec_output_fast(&k, *acc++, q, zero_point2, 1);
    } else {
        for (int32_t i = n; i > 0; i--, q += 2) *out++ = ec_output_fast(&k, *acc++, q, zero_point2, 0);
    }
}

/* ---- int8 ---- */

/* The output stage of the kernels whose accumulators come out doubled (ec_requantize2): per channel
 * four words {2 * bias', multiplier, (2z + 1) * 2^(r - 1), r}, bias' being the bias with the input
 * zero point folded in (bias - input_zero_point * sum of the channel's weights, so that the kernels
 * multiply raw input bytes). `mode`: 0 clamps with one SSAT and needs no sign correction (the
 * activation's lower bound is at least the output zero point, and its range is the int8 range),
 * 1 clamps with one SSAT, 2 clamps to [act_min, act_max]. */
typedef struct {
    const int32_t *channels;
    int32_t act_min, act_max;
    int32_t mode;
} ec_output2_s8;

typedef struct {
    ec_window window;
    /* Each OHWI filter flattened to n = filter_height * filter_width * in_channels values and
     * padded with zeros to depth4, the next multiple of 4; then the rows of channels 2i and 2i + 1
     * interleaved four values at a time (row 2i's values 0-3, row 2i + 1's values 0-3, row 2i's
     * values 4-7, ...), with a row of zeros after an odd last channel. Word-aligned. */
    const int8_t *weights;
    int32_t input_zero_point;
    ec_output_s8 output;
} ec_conv2d_s8_params;

/* Any filter, stride, dilation and padding. */
size_t ec_conv2d_s8_scratch_size(const ec_conv2d_s8_params *p);
void ec_conv2d_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/* The same with int16 weights (no unpacking in its inner loop) and the output stage ec_output2_s8
 * (biases without the zero point folded in: the columns are widened minus it), each output
 * requantized straight from the two-by-two tile. Weights as ec_conv2d_s8_params.weights, doubled, as
 * int16 with each group of four in the order 0, 2, 1, 3; output.channels has words for the zero
 * channel after an odd last one. */
typedef struct {
    ec_window window;
    const int16_t *weights;
    int32_t input_zero_point;
    ec_output2_s8 output;
} ec_conv2d_w16_s8_params;

size_t ec_conv2d_w16_s8_scratch_size(const ec_conv2d_w16_s8_params *p);
void ec_conv2d_w16_s8(const ec_conv2d_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
/* 1x1 filter, stride 1 (so no padding): a matrix product over the pixels. */
size_t ec_conv2d_1x1_s8_scratch_size(const ec_conv2d_s8_params *p);
void ec_conv2d_1x1_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/* A convolution of one or a few input channels (or a depthwise convolution of one), dilation 1,
 * filter height at most EC_C1_MAX_ROWS: the input rows a row of outputs reads are widened once to
 * int16 (minus the zero point, zeros in the padding) and each output's filter row, filter_width *
 * in_channels values in NHWC, is a run of int16 pairs (read a word at a time, aligned or not).
 * Weights: output channels in blocks of four (the last padded with zero channels); per block, filter
 * row and pair of values (a filter row's values rounded up to even, with zero weights), the four
 * channels' pairs (w[t], w[t + 1]), doubled. output.channels' biases have no zero point folded in. */
#define EC_C1_MAX_ROWS 16
typedef struct {
    ec_window window;
    const int16_t *weights;
    int32_t input_zero_point;
    ec_output2_s8 output;
} ec_conv2d_c1_s8_params;

/* Scratch: first the widened rows (filter_height rows of int16, each as long as an output row
 * reads), then one row of outputs' accumulators. The widened rows are read for the last time before
 * the last output row is written: that row may lie over them (a row band's last row does). */
size_t ec_conv2d_c1_s8_scratch_size(const ec_conv2d_c1_s8_params *p);
void ec_conv2d_c1_s8(const ec_conv2d_c1_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

typedef struct {
    ec_window window;
    int32_t depth_multiplier; /* output channel c * depth_multiplier + m reads input channel c */
    /* The filter widened to int16. For ec_depthwise_conv2d_mult_s8 as TFLite stores it,
     * [filter_height * filter_width][out_channels]. For ec_depthwise_conv2d_s8, first every whole
     * group of four channels with all its taps, four values per tap in the order 0, 2, 1, 3 (how
     * the DSP unpacks four bytes), then [taps][out_channels % 4] for the channels left. Word-aligned. */
    const int16_t *weights;
    int32_t input_zero_point;
    ec_output_s8 output;
} ec_depthwise_conv2d_s8_params;

/* Both kernels keep the accumulators of one output pixel in scratch. */
size_t ec_depthwise_conv2d_s8_scratch_size(const ec_depthwise_conv2d_s8_params *p);
/* Depth multiplier 1, four channels at a time. */
void ec_depthwise_conv2d_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
/* Any depth multiplier, one channel at a time. */
void ec_depthwise_conv2d_mult_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/* A 3x3 depthwise convolution, depth multiplier 1, dilation 1, stride_width 1 or 2 (any stride_height),
 * pad_left at most 1, on channel planes: scratch keeps the input rows that one row of outputs reads,
 * widened to int16 minus the zero point, one row per channel with zeros in the padding, in a ring of
 * three (each input row is widened once). Then for each channel of the output row its weights stay
 * in registers and every two outputs take two SMLADs and two halfword multiplies per row of taps.
 * Weights: per channel its nine taps in row-major order, doubled. output.channels' biases have no
 * zero point folded in.
 * In place: output row y is written after the input rows up to y * stride_height - pad_top + 2
 * have been widened for the last time, so the output may overwrite those (batches of one; the
 * planner's heldRows). */
typedef struct {
    ec_window window;
    const int16_t *weights;
    int32_t input_zero_point;
    ec_output2_s8 output;
} ec_depthwise_conv2d_3x3_s8_params;

size_t ec_depthwise_conv2d_3x3_s8_scratch_size(const ec_depthwise_conv2d_3x3_s8_params *p);
void ec_depthwise_conv2d_3x3_s8(const ec_depthwise_conv2d_3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

typedef struct {
    int32_t rows, depth, units;
    const int8_t *weights; /* [units][depth] */
    int32_t input_zero_point;
    ec_output_s8 output;
} ec_fully_connected_s8_params;

void ec_fully_connected_s8(const ec_fully_connected_s8_params *p, const int8_t *input, int8_t *output);

/* Fully connected with int16 weights, output stage ec_output2_s8 (the input zero point folded into
 * the bias, so raw input bytes are multiplied). Units in blocks of four for a single row, of two for
 * several rows (the last block padded with zero units); per block and per group of four input
 * values (depth padded with zeros to a multiple of 4), for each unit of the block the pairs (w0, w2)
 * and (w1, w3), doubled. Word-aligned. A single row is computed four units per pass; several rows
 * two rows by two units per pass, each weight word serving both rows. */
typedef struct {
    int32_t rows, depth, units;
    const int16_t *weights;
    ec_output2_s8 output;
} ec_fully_connected_w16_s8_params;

/* One row (p->rows == 1). Scratch (word-aligned) holds the row split into even and odd bytes: the
 * whole row, or where that is smaller, chunks of equal length, at most EC_FC_CHUNK_GROUPS groups of
 * four values, with every unit's accumulator kept between them. With at most four units it needs
 * none (scratch may be NULL). */
#define EC_FC_CHUNK_GROUPS 56
size_t ec_fully_connected_w16_s8_scratch_size(const ec_fully_connected_w16_s8_params *p);
void ec_fully_connected_w16_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
/* Several rows (p->rows > 1: pointwise convolutions over their pixels), in a function of its own so
 * that models without it do not link it. Scratch (word-aligned: read four words at a time) holds two
 * rows split into even and odd bytes. */
size_t ec_fully_connected_w16_rows_s8_scratch_size(const ec_fully_connected_w16_s8_params *p);
void ec_fully_connected_w16_rows_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
/* The same where the groups of four values per row (depth + 3) / 4 are 2, 4, 8 or 16 and the output
 * mode is 0 (MobileNets' first pointwise layers): copies in which the count is a constant, each
 * linked only where the generator picked it. Scratch as ec_fully_connected_w16_rows_s8's. */
void ec_fully_connected_w16_rows2_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
void ec_fully_connected_w16_rows4_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
void ec_fully_connected_w16_rows8_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
void ec_fully_connected_w16_rows16_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
#define ec_fully_connected_w16_rows2_s8_scratch_size ec_fully_connected_w16_rows_s8_scratch_size
#define ec_fully_connected_w16_rows4_s8_scratch_size ec_fully_connected_w16_rows_s8_scratch_size
#define ec_fully_connected_w16_rows8_s8_scratch_size ec_fully_connected_w16_rows_s8_scratch_size
#define ec_fully_connected_w16_rows16_s8_scratch_size ec_fully_connected_w16_rows_s8_scratch_size

/* int8 and int16 (16x8 models): input and output share their quantization; the window never lies
 * wholly in the padding. act_min and act_max are in the type's range. */
typedef struct {
    ec_window window;
    int32_t act_min, act_max;
} ec_pool_q_params;

void ec_avgpool_s8(const ec_pool_q_params *p, const int8_t *input, int8_t *output);
void ec_maxpool_s8(const ec_pool_q_params *p, const int8_t *input, int8_t *output);
void ec_avgpool_s16(const ec_pool_q_params *p, const int16_t *input, int16_t *output);
void ec_maxpool_s16(const ec_pool_q_params *p, const int16_t *input, int16_t *output);

/* ---- float32: TFLite's reference loops, in its order of accumulation ---- */

typedef struct {
    ec_window window;
    const float *weights; /* OHWI */
    const float *bias;    /* [out_channels]; zeros when the model has none (TFLite adds 0.0f) */
    float act_min, act_max;
} ec_conv2d_f32_params;

void ec_conv2d_f32(const ec_conv2d_f32_params *p, const float *input, float *output);

typedef struct {
    ec_window window;
    int32_t depth_multiplier;
    const float *weights; /* [filter_height][filter_width][out_channels] */
    const float *bias;
    float act_min, act_max;
} ec_depthwise_conv2d_f32_params;

void ec_depthwise_conv2d_f32(const ec_depthwise_conv2d_f32_params *p, const float *input, float *output);

typedef struct {
    int32_t rows, depth, units;
    const float *weights; /* [units][depth] */
    const float *bias;
    float act_min, act_max;
} ec_fully_connected_f32_params;

void ec_fully_connected_f32(const ec_fully_connected_f32_params *p, const float *input, float *output);

typedef struct {
    ec_window window;
    float act_min, act_max;
} ec_pool_f32_params;

void ec_avgpool_f32(const ec_pool_f32_params *p, const float *input, float *output);
void ec_maxpool_f32(const ec_pool_f32_params *p, const float *input, float *output);

/* ---- transpose convolution (TFLite's TRANSPOSE_CONV) ----
 *
 * The window is the transposed one: input pixel (iy, ix) reaches output pixel
 * (iy * stride_height - pad_top + ky, ix * stride_width - pad_left + kx); dilation is 1. TFLite
 * scatters each input pixel over the output; these kernels gather each output value from the input
 * pixels that reach it, in the order the scatter adds them (input row, column, channel), so the
 * int32 sums are equal and the float32 sums round the same way. The output must not overlap the
 * input (every output value reads input pixels from several rows). No scratch. */
typedef struct {
    ec_window window;
    const int8_t *weights; /* OHWI, symmetric */
    const int32_t *bias;   /* [out_channels], or NULL */
    int32_t input_offset;  /* minus the input zero point */
    const int32_t *multiplier, *shift; /* per output channel, TFLite's */
    int32_t output_zero_point;
    int32_t act_min, act_max;
} ec_transpose_conv2d_s8_params;

void ec_transpose_conv2d_s8(const ec_transpose_conv2d_s8_params *p, const int8_t *input, int8_t *output);

typedef struct {
    ec_window window;
    const float *weights; /* OHWI */
    const float *bias;    /* [out_channels], or NULL (TFLite then adds nothing) */
    float act_min, act_max;
} ec_transpose_conv2d_f32_params;

void ec_transpose_conv2d_f32(const ec_transpose_conv2d_f32_params *p, const float *input, float *output);

/* ---- batch matrix product (TFLite's BATCH_MATMUL) ----
 *
 * Output matrix b (b0, b1, b2 over `batches`, row-major) is lhs matrix sum(b_i * lhs_batch_stride[i])
 * times rhs matrix sum(b_i * rhs_batch_stride[i]) (a stride of 0 broadcasts); lhs[r][k] is
 * lhs[r * lhs_row_stride + k * lhs_depth_stride] and rhs[k][c] is rhs[c * rhs_col_stride +
 * k * rhs_depth_stride], so either operand may be stored transposed. Every output value sums its
 * depth from k = 0 up, as TFLite's reference does (float32 rounds each product and each sum). The
 * int8 kernel takes its SMLAD path when both depth strides are 1. Strides and sizes in elements,
 * no alignment needed; the output must not overlap either operand. No scratch. */
typedef struct {
    int32_t batches[3];
    int32_t lhs_batch_stride[3], rhs_batch_stride[3];
    int32_t rows, cols, depth;
    int32_t lhs_row_stride, lhs_depth_stride;
    int32_t rhs_col_stride, rhs_depth_stride;
} ec_matmul_shape;

typedef struct {
    ec_matmul_shape shape;
    int32_t lhs_offset, rhs_offset; /* minus the zero points, in [-127, 128] */
    int32_t multiplier, shift;      /* TFLite's, > 0 left */
    int32_t output_zero_point;
} ec_batch_matmul_s8_params;

void ec_batch_matmul_s8(const ec_batch_matmul_s8_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);

/* int16 operands and output, zero points 0: int64 sums requantized by TFLite's 64-bit rule
 * (ec_requantize_s64: shift at most 7, depth below 2^17). */
typedef struct {
    ec_matmul_shape shape;
    int32_t multiplier, shift;
} ec_batch_matmul_s16_params;

void ec_batch_matmul_s16(const ec_batch_matmul_s16_params *p, const int16_t *lhs, const int16_t *rhs, int16_t *output);
void ec_batch_matmul_f32(const ec_matmul_shape *p, const float *lhs, const float *rhs, float *output);

/* ---- 16x8: int16 activations (zero point 0) with int8 weights, widened to int16 by the generator
 * so that two products take one SMLAD. Sums are int64 from the bias; `wide` sums requantize by
 * TFLite's 64-bit rule (ec_requantize_s64), the others (an int32 bias) wrap to int32 first and
 * requantize as the int8 kernels do, as TFLite Micro's kernels choose. No alignment needed; the
 * output must not overlap the input. */

typedef struct {
    const int64_t *bias;       /* per output channel, NULL for none */
    const int32_t *multiplier; /* per output channel (one for a per-tensor fully connected layer) */
    const int32_t *shift;
    int32_t per_channel, wide;
    int32_t act_min, act_max;
} ec_output_s16;

typedef struct {
    int32_t rows, depth, units;
    const int16_t *weights; /* [units][depth] */
    ec_output_s16 output;
} ec_fully_connected_s16_params;

void ec_fully_connected_s16(const ec_fully_connected_s16_params *p, const int16_t *input, int16_t *output);

typedef struct {
    ec_window window;
    const int16_t *weights; /* [out_channels][filter_height][filter_width][in_channels] */
    ec_output_s16 output;
} ec_conv2d_s16_params;

void ec_conv2d_s16(const ec_conv2d_s16_params *p, const int16_t *input, int16_t *output);

typedef struct {
    ec_window window;
    int32_t depth_multiplier;
    const int8_t *weights; /* [filter_height][filter_width][out_channels] */
    ec_output_s16 output;
} ec_depthwise_conv2d_s16_params;

void ec_depthwise_conv2d_s16(const ec_depthwise_conv2d_s16_params *p, const int16_t *input, int16_t *output);

#endif /* EC_NN_H */
