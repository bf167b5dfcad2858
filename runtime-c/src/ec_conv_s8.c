/* int8 convolution as a matrix product, two output channels by two pixels at a time.
 *
 * The receptive field of each output pixel is gathered into a column (taps in the padding read as
 * the input zero point), widened to int16 with the zero point subtracted and interleaved with the
 * other pixel's column. The generator interleaves the weight rows of each pair of channels the
 * same way, so one pass reads one word of weights per channel and one pair of words per pixel for
 * every four values and does eight SMLADs with them: each unpacked weight word serves two pixels
 * and each column word two channels. */
#include "ec_nn.h"

/* Keeps the compiler from loading the operands of later steps ahead of time, which runs a
 * Cortex-M out of registers and costs more in spills than it saves. */
#define EC_ONE_STEP_AT_A_TIME() __asm__ volatile("" ::: "memory")

/* Values per filter, rounded up to whole words (the weight rows are padded with zeros). */
static int32_t depth4(const ec_window *w)
{
    return (w->filter_height * w->filter_width * w->in_channels + 3) & ~3;
}

/* Channels rounded up to a whole pair (the weights hold a zero row after an odd last channel). */
static int32_t channel_pairs(const ec_window *w)
{
    return (w->out_channels + 1) & ~1;
}

/* The two interleaved int16 columns, then the accumulators of both pixels. */
size_t ec_conv2d_1x1_s8_scratch_size(const ec_conv2d_s8_params *p)
{
    return 2u * (size_t)depth4(&p->window) * sizeof(int16_t) + 2u * (size_t)channel_pairs(&p->window) * sizeof(int32_t);
}

/* Then one pixel's receptive field as int8, before it is widened. */
size_t ec_conv2d_s8_scratch_size(const ec_conv2d_s8_params *p)
{
    return ec_conv2d_1x1_s8_scratch_size(p) + (size_t)depth4(&p->window);
}

/* The two interleaved columns and the int8 receptive field: its outputs come straight from registers. */
size_t ec_conv2d_w16_s8_scratch_size(const ec_conv2d_w16_s8_params *p)
{
    return 2u * (size_t)depth4(&p->window) * sizeof(int16_t) + (size_t)depth4(&p->window);
}

/* n int8 values minus the zero point into column `slot` (0 or 1) of the interleaved columns. Each
 * group of four bytes b0..b3 becomes the int16 pairs (b0, b2) and (b1, b3), the lanes SXTB16 makes,
 * at words 4g + 2 * slot and 4g + 2 * slot + 1. A short last group is padded (the weights there are
 * zero) and reads no further than src + n. */
static void widen(const int8_t *src, int32_t n, int32_t zero_point, int32_t *cols, int32_t slot)
{
    const int32_t offset = (int32_t)(((uint32_t)-zero_point & 0xffffu) * 0x10001u);
    int32_t *d = cols + 2 * slot;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4, d += 4) {
        const int32_t x = ec_load4(src + i);
        d[0] = ec_sxtab16(offset, x);
        d[1] = ec_sxtab16_odd(offset, x);
    }
    if (i < n) {
        uint32_t x = 0;
        for (int32_t k = 0; i + k < n; k++) x |= (uint32_t)(uint8_t)src[i + k] << (8 * k);
        d[0] = ec_sxtab16(offset, (int32_t)x);
        d[1] = ec_sxtab16_odd(offset, (int32_t)x);
    }
}

/* Byte copies and fills a word at a time and then the last two and one bytes (the compiler would
 * turn plain byte loops into calls of the C library's byte-at-a-time memcpy and memset). */
EC_INLINE void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) ec_store4(dst, ec_load4(src));
    if (n & 2) {
        dst[0] = src[0];
        dst[1] = src[1];
        dst += 2;
        src += 2;
    }
    if (n & 1) dst[0] = src[0];
}

static void fill_bytes(int8_t *dst, int32_t four_bytes, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4) ec_store4(dst, four_bytes);
    if (n & 2) {
        dst[0] = (int8_t)four_bytes;
        dst[1] = (int8_t)four_bytes;
        dst += 2;
    }
    if (n & 1) dst[0] = (int8_t)four_bytes;
}

/* `rows` runs of n bytes, `step` bytes apart in src, one after the other into dst. */
static EC_NOINLINE void copy_rows(int8_t *dst, const int8_t *src, int32_t rows, int32_t n, int32_t step)
{
    for (; rows > 0; rows--, dst += n, src += step) copy_bytes(dst, src, n);
}

/* A receptive field that reaches into the padding: all of it the zero point, then the taps that
 * read the input copied over it. */
static EC_NOINLINE void gather_padded(const ec_window *w, int32_t zero_point, const int8_t *image, const ec_taps *t, int8_t *staged)
{
    const int32_t channels = w->in_channels;
    const int32_t row_bytes = w->filter_width * channels;
    fill_bytes(staged, (int32_t)((uint32_t)(uint8_t)zero_point * 0x01010101u), w->filter_height * row_bytes);
    if (t->kx0 >= t->kx1) return;
    for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
        const int32_t row = (t->iy0 + ky * w->dilation_height) * w->in_width;
        int8_t *d = staged + ky * row_bytes;
        if (w->dilation_width == 1) {
            copy_bytes(d + t->kx0 * channels, image + (row + t->ix0 + t->kx0) * channels, (t->kx1 - t->kx0) * channels);
        } else {
            for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
                copy_bytes(d + kx * channels, image + (row + t->ix0 + kx * w->dilation_width) * channels, channels);
            }
        }
    }
}

/* The receptive field of output pixel (y, x) of one image, in filter order, into `staged`. */
static void gather(const ec_window *w, int32_t zero_point, const int8_t *image, int32_t y, int32_t x, int8_t *staged)
{
    const ec_taps t = ec_taps_at(w, y, x);
    if (w->dilation_width == 1 && t.ky0 == 0 && t.ky1 == w->filter_height && t.kx0 == 0 && t.kx1 == w->filter_width) {
        /* Away from the padding each row of taps is one run of bytes. */
        const int32_t channels = w->in_channels;
        copy_rows(staged, image + (t.iy0 * w->in_width + t.ix0) * channels, w->filter_height, w->filter_width * channels,
                  w->dilation_height * w->in_width * channels);
    } else {
        gather_padded(w, zero_point, image, &t, staged);
    }
}

/* Accumulators of channels c, c + 1 and pixels 0, 1. */
typedef struct {
    int32_t c0p0, c0p1, c1p0, c1p1;
} tile;

/* Four values of the two channels (words w[0], w[1]) and of the two pixels (words x[0..3]). */
EC_INLINE void accumulate(tile *a, const ec_word *w, const int32_t *x)
{
    const int32_t x0_even = x[0], x0_odd = x[1], x1_even = x[2], x1_odd = x[3];
    int32_t even = ec_sxtb16(w[0]), odd = ec_sxtb16_odd(w[0]);
    a->c0p0 = ec_smlad(even, x0_even, a->c0p0);
    a->c0p1 = ec_smlad(even, x1_even, a->c0p1);
    a->c0p0 = ec_smlad(odd, x0_odd, a->c0p0);
    a->c0p1 = ec_smlad(odd, x1_odd, a->c0p1);
    even = ec_sxtb16(w[1]);
    odd = ec_sxtb16_odd(w[1]);
    a->c1p0 = ec_smlad(even, x0_even, a->c1p0);
    a->c1p1 = ec_smlad(even, x1_even, a->c1p1);
    a->c1p0 = ec_smlad(odd, x0_odd, a->c1p0);
    a->c1p1 = ec_smlad(odd, x1_odd, a->c1p1);
    EC_ONE_STEP_AT_A_TIME();
}

/* All output channels of the two pixels whose columns are interleaved at the start of `scratch`
 * (out1 may equal out0 when both columns hold the same pixel). Out of line so that its loops have
 * the registers to themselves. */
static EC_NOINLINE void multiply(const ec_conv2d_s8_params *p, int32_t *scratch, int8_t *out0, int8_t *out1)
{
    const int32_t groups = depth4(&p->window) >> 2;
    const int32_t pairs = channel_pairs(&p->window);
    const int32_t *const cols = scratch;
    int32_t *const acc0 = scratch + 4 * groups;
    int32_t *const acc1 = acc0 + pairs;
    const int32_t *bias = p->output.bias;
    /* Rows in pairs, word by word: channel c's word(s), then channel c + 1's. */
    const ec_word *w = (const ec_word *)p->weights;
    for (int32_t c = 0; c < pairs; c += 2) {
        tile a;
        a.c0p0 = a.c0p1 = bias[c];
        a.c1p0 = a.c1p1 = c + 1 < p->window.out_channels ? bias[c + 1] : 0;
        const int32_t *x = cols;
        for (int32_t k = groups >> 1; k > 0; k--, w += 4, x += 8) {
            accumulate(&a, w, x);
            accumulate(&a, w + 2, x + 4);
        }
        if (groups & 1) {
            accumulate(&a, w, x);
            w += 2;
        }
        acc0[c] = a.c0p0;
        acc0[c + 1] = a.c1p0;
        acc1[c] = a.c0p1;
        acc1[c + 1] = a.c1p1;
    }
    ec_output_row(&p->output, acc0, p->window.out_channels, out0);
    ec_output_row(&p->output, acc1, p->window.out_channels, out1);
}

/* ---- int16 weights, outputs from registers (ec_conv2d_w16_s8) ---- */

/* Accumulators of channels c (a) and c + 1 (b), pixels 0 and 1. */
typedef struct {
    int32_t a0, a1, b0, b1;
} tile2;

/* Four values: the two pixels' column words (x), each channel's pairs (v0, v2) and (v1, v3) (w),
 * every operand by LDRD and nothing unpacked. The fully-connected kernel's step2x2 is the same
 * arithmetic with the SMLAD operands the other way round: one shared helper, in either order,
 * costs one of the two kernels 0.1% to 0.5% of a model's instructions (gcc's register allocation; npm run bench -- tflm). */
EC_INLINE void accumulate_w16(tile2 *t, const ec_word **w, const ec_word **x)
{
    int32_t x0_even, x0_odd, x1_even, x1_odd, even, odd;
    ec_load_words2(x, &x0_even, &x0_odd);
    ec_load_words2(x, &x1_even, &x1_odd);
    ec_load_words2(w, &even, &odd);
    t->a0 = ec_smlad(even, x0_even, t->a0);
    t->a0 = ec_smlad(odd, x0_odd, t->a0);
    t->a1 = ec_smlad(even, x1_even, t->a1);
    t->a1 = ec_smlad(odd, x1_odd, t->a1);
    ec_load_words2(w, &even, &odd);
    t->b0 = ec_smlad(even, x0_even, t->b0);
    t->b0 = ec_smlad(odd, x0_odd, t->b0);
    t->b1 = ec_smlad(even, x1_even, t->b1);
    t->b1 = ec_smlad(odd, x1_odd, t->b1);
}

/* All output channels of the two pixels whose columns are interleaved in cols, requantized as they
 * come out of the tile (`fix` and `full` constants in each copy, see ec_output2). */
EC_INLINE void multiply_w16(const ec_conv2d_w16_s8_params *p, const int32_t *cols, int8_t *out0, int8_t *out1, int32_t fix, int32_t full)
{
    const int32_t groups = depth4(&p->window) >> 2;
    const int32_t channels = p->window.out_channels;
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    const ec_word *w = (const ec_word *)p->weights;
    const int32_t *q = p->output.channels;
    for (int32_t c = 0; c < channels; c += 2, q += 8) {
        tile2 t;
        t.a0 = t.a1 = q[0];
        t.b0 = t.b1 = q[4];
        const ec_word *x = (const ec_word *)cols;
        int32_t k = groups;
        for (; k >= 2; k -= 2) {
            accumulate_w16(&t, &w, &x);
            accumulate_w16(&t, &w, &x);
        }
        if (k) accumulate_w16(&t, &w, &x);
        /* Both pixels' outputs of a channel before either is stored, so its words are read once. */
        const int8_t y0 = ec_output2(t.a0, q + 1, fix, full, lo, hi), y1 = ec_output2(t.a1, q + 1, fix, full, lo, hi);
        out0[c] = y0;
        out1[c] = y1;
        if (c + 1 < channels) {
            const int8_t z0 = ec_output2(t.b0, q + 5, fix, full, lo, hi), z1 = ec_output2(t.b1, q + 5, fix, full, lo, hi);
            out0[c + 1] = z0;
            out1[c + 1] = z1;
        }
    }
}

static EC_NOINLINE void multiply_w16_mode(const ec_conv2d_w16_s8_params *p, const int32_t *cols, int8_t *out0, int8_t *out1)
{
    switch (p->output.mode) {
    case 0: multiply_w16(p, cols, out0, out1, 0, 1); break;
    case 1: multiply_w16(p, cols, out0, out1, 1, 1); break;
    default: multiply_w16(p, cols, out0, out1, 1, 0); break;
    }
}

/* Every output pixel, two at a time, their receptive fields gathered and widened into cols, then
 * multiplied by the int8 (p8) or int16 (p16) weights. */
EC_INLINE void conv_pixels(const ec_conv2d_s8_params *p8, const ec_conv2d_w16_s8_params *p16, const int8_t *input, int8_t *output,
                           int32_t *cols, int8_t *staged)
{
    const ec_window *w = p8 ? &p8->window : &p16->window;
    const int32_t zero_point = p8 ? p8->input_zero_point : p16->input_zero_point;
    const int32_t n = w->filter_height * w->filter_width * w->in_channels;
    const int32_t pixels = w->out_height * w->out_width;
    const int32_t out_c = w->out_channels;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * w->in_channels;
        int8_t *out = output + b * pixels * out_c;
        int32_t y = 0, x = 0;
        for (int32_t q = 0; q < pixels; q += 2) {
            /* An odd last pixel fills both columns and is written twice. */
            const int32_t q1 = q + 1 < pixels ? q + 1 : q;
            gather(w, zero_point, image, y, x, staged);
            widen(staged, n, zero_point, cols, 0);
            if (++x == w->out_width) {
                x = 0;
                y++;
            }
            if (q1 != q) {
                gather(w, zero_point, image, y, x, staged);
                if (++x == w->out_width) {
                    x = 0;
                    y++;
                }
            }
            widen(staged, n, zero_point, cols, 1);
            if (p8) {
                multiply(p8, cols, out + q * out_c, out + q1 * out_c);
            } else {
                multiply_w16_mode(p16, cols, out + q * out_c, out + q1 * out_c);
            }
        }
    }
}

void ec_conv2d_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    conv_pixels(p, NULL, input, output, (int32_t *)scratch, (int8_t *)scratch + ec_conv2d_1x1_s8_scratch_size(p));
}

void ec_conv2d_w16_s8(const ec_conv2d_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    conv_pixels(NULL, p, input, output, (int32_t *)scratch, (int8_t *)scratch + 4 * depth4(&p->window));
}

void ec_conv2d_1x1_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    int32_t *const cols = (int32_t *)scratch;
    const int32_t pixels = w->batches * w->out_height * w->out_width;
    for (int32_t q = 0; q < pixels; q += 2) {
        const int32_t q1 = q + 1 < pixels ? q + 1 : q;
        widen(input + q * in_c, in_c, p->input_zero_point, cols, 0);
        widen(input + q1 * in_c, in_c, p->input_zero_point, cols, 1);
        multiply(p, cols, output + q * out_c, output + q1 * out_c);
    }
}

/* ---- one or a few input channels (ec_conv2d_c1_s8) ---- */

/* Values per filter row (filter_width * in_channels, one run in an NHWC row) rounded up to whole pairs. */
static int32_t c1_pairs(const ec_window *w)
{
    return (w->filter_width * w->in_channels + 1) >> 1;
}

/* int16 values per widened input row: every value the outputs read, rounded up to whole words. */
static int32_t c1_row_length(const ec_window *w)
{
    return ((w->out_width - 1) * w->stride_width * w->in_channels + 2 * c1_pairs(w) + 1) & ~1;
}

static int32_t c1_blocks(const ec_window *w)
{
    return (w->out_channels + 3) >> 2;
}

/* The widened rows, then the accumulators of one row of outputs. */
size_t ec_conv2d_c1_s8_scratch_size(const ec_conv2d_c1_s8_params *p)
{
    const ec_window *w = &p->window;
    return (size_t)w->filter_height * (size_t)c1_row_length(w) * sizeof(int16_t) +
           (size_t)w->out_width * 4u * (size_t)c1_blocks(w) * sizeof(int32_t);
}

/* Input row iy (which may lie in the padding) minus the zero point, n values from column -pad_left on. */
static void c1_widen_row(const ec_window *w, const int8_t *image, int32_t iy, int32_t zero_point, int16_t *d, int32_t n)
{
    int32_t c = 0;
    if (iy >= 0 && iy < w->in_height) {
        const int32_t channels = w->in_channels, pad = w->pad_left * channels;
        const int8_t *src = image + iy * w->in_width * channels - pad;
        const int32_t first = pad < n ? pad : n;
        int32_t end = pad + w->in_width * channels;
        if (end > n) end = n;
        const int32_t offset = (int32_t)(((uint32_t)-zero_point & 0xffffu) * 0x10001u);
        for (; c < first; c++) d[c] = 0;
        /* Four values at a time: bytes (0, 2) and (1, 3) widened, then repacked as (0, 1) and (2, 3). */
        for (; c + 4 <= end; c += 4) {
            const int32_t x = ec_load4(src + c);
            const int32_t even = ec_sxtab16(offset, x), odd = ec_sxtab16_odd(offset, x);
            ec_store4(d + c, ec_pack_lo(even, odd));
            ec_store4(d + c + 2, ec_pack_hi(even, odd));
        }
        for (; c < end; c++) d[c] = (int16_t)(src[c] - zero_point);
    }
    for (; c < n; c++) d[c] = 0;
}

/* Four channels of one output: `rows` filter rows of `pairs` int16 pairs each. */
EC_INLINE void c1_block(int16_t *const *row, int32_t col, int32_t rows, int32_t pairs, const ec_word *w, const int32_t *bias, int32_t *acc)
{
    int32_t a0 = bias[0], a1 = bias[4], a2 = bias[8], a3 = bias[12];
    for (int32_t ky = 0; ky < rows; ky++) {
        const int16_t *x = row[ky] + col;
        /* The row's address in a register, so that its pairs are read at constant offsets (else the
         * compiler keeps an offset per pair, some on the stack). */
        __asm__("" : "+r"(x));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
        for (int32_t k = 0; k < pairs; k++) {
            const int32_t v = ec_load4(x + 2 * k);
            int32_t w0, w1, w2, w3;
            ec_load_words2(&w, &w0, &w1);
            ec_load_words2(&w, &w2, &w3);
            a0 = ec_smlad(v, w0, a0);
            a1 = ec_smlad(v, w1, a1);
            a2 = ec_smlad(v, w2, a2);
            a3 = ec_smlad(v, w3, a3);
            EC_ONE_STEP_AT_A_TIME();
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The accumulators of a row of outputs, four channels after another; `pairs` a constant where it can be. */
EC_INLINE void c1_row(const ec_conv2d_c1_s8_params *p, int16_t *const *row, int32_t pairs, const int32_t *bias4, int32_t *acc)
{
    const ec_window *w = &p->window;
    const int32_t blocks = c1_blocks(w);
    const int32_t rows = w->filter_height, width = w->out_width, step = w->stride_width * w->in_channels;
    const int32_t block_words = 4 * rows * pairs;
    for (int32_t x = 0, col = 0; x < width; x++, col += step) {
        const ec_word *wt = (const ec_word *)p->weights;
        for (int32_t b = 0; b < blocks; b++, acc += 4, wt += block_words) c1_block(row, col, rows, pairs, wt, bias4 + 16 * b, acc);
    }
}

static EC_NOINLINE void c1_accumulate(const ec_conv2d_c1_s8_params *p, int16_t *const *row, const int32_t *bias4, int32_t *acc)
{
    switch (c1_pairs(&p->window)) {
    case 2: c1_row(p, row, 2, bias4, acc); break;
    case 4: c1_row(p, row, 4, bias4, acc); break;
    case 5: c1_row(p, row, 5, bias4, acc); break;
    default: c1_row(p, row, c1_pairs(&p->window), bias4, acc); break;
    }
}

EC_INLINE void c1_output(const ec_conv2d_c1_s8_params *p, const int32_t *acc, int8_t *out, int32_t fix, int32_t full)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->out_channels, stride = 4 * c1_blocks(w);
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    for (int32_t x = 0; x < w->out_width; x++, acc += stride) {
        const int32_t *q = p->output.channels + 1;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
        for (int32_t c = 0; c < channels; c++, q += 4) *out++ = ec_output2(acc[c], q, fix, full, lo, hi);
    }
}

static EC_NOINLINE void c1_outputs(const ec_conv2d_c1_s8_params *p, const int32_t *acc, int8_t *out)
{
    switch (p->output.mode) {
    case 0: c1_output(p, acc, out, 0, 1); break;
    case 1: c1_output(p, acc, out, 1, 1); break;
    default: c1_output(p, acc, out, 1, 0); break;
    }
}

void ec_conv2d_c1_s8(const ec_conv2d_c1_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t n = c1_row_length(w);
    const int32_t rows = w->filter_height;
    int16_t *const buffer = (int16_t *)scratch;
    int32_t *const acc = (int32_t *)(void *)(buffer + rows * n);
    int16_t *row[EC_C1_MAX_ROWS];
    int32_t held[EC_C1_MAX_ROWS];
    /* The bias of channel c is word 4c of output.channels; past the last channel, zero channels. */
    const int32_t *bias4 = p->output.channels;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * w->in_channels;
        /* Slot iy mod rows holds input row iy: a row is widened once however many outputs read it. */
        for (int32_t k = 0; k < rows; k++) held[k] = INT32_MIN;
        for (int32_t y = 0; y < w->out_height; y++) {
            const int32_t iy0 = y * w->stride_height - w->pad_top;
            for (int32_t ky = 0; ky < rows; ky++) {
                const int32_t iy = iy0 + ky;
                const int32_t slot = ((iy % rows) + rows) % rows;
                row[ky] = buffer + slot * n;
                if (held[slot] != iy) {
                    c1_widen_row(w, image, iy, p->input_zero_point, row[ky], n);
                    held[slot] = iy;
                }
            }
            c1_accumulate(p, row, bias4, acc);
            c1_outputs(p, acc, output + (b * w->out_height + y) * w->out_width * w->out_channels);
        }
    }
}
