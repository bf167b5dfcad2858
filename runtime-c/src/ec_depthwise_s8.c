/* int8 depthwise convolution. Each output channel sums its own input channel over the filter taps
 * that fall inside the input; taps in the padding are skipped, as in TFLite. The accumulators of
 * one output pixel go to scratch and are requantized together. */
#include "ec_nn.h"

/* Keeps the compiler from loading every operand of a row ahead of time, which runs a Cortex-M out
 * of registers and costs more in spills than it saves. */
#define EC_ONE_TAP_AT_A_TIME() __asm__ volatile("" ::: "memory")

size_t ec_depthwise_conv2d_s8_scratch_size(const ec_depthwise_conv2d_s8_params *p)
{
    return (size_t)p->window.out_channels * sizeof(int32_t);
}

/* Accumulators of four channels. */
typedef struct {
    int32_t c0, c1, c2, c3;
} quad;

/* One tap of four channels: x holds their four input bytes, w[0] and w[1] their weights (c0, c2)
 * and (c1, c3) as int16 pairs (the lanes SXTAB16 makes of x, with the zero point subtracted). */
EC_INLINE void tap4(quad *a, int32_t x, const ec_word *w, int32_t offset)
{
    const int32_t even = ec_sxtab16(offset, x), odd = ec_sxtab16_odd(offset, x);
    a->c0 = ec_smlabb(even, w[0], a->c0);
    a->c2 = ec_smlatt(even, w[0], a->c2);
    a->c1 = ec_smlabb(odd, w[1], a->c1);
    a->c3 = ec_smlatt(odd, w[1], a->c3);
    EC_ONE_TAP_AT_A_TIME();
}

/* The taps of one output pixel in every whole group of four channels. */
typedef struct {
    int32_t groups;
    int32_t rows, cols;           /* taps inside the input */
    int32_t col_step, row_step;   /* input bytes between taps */
    int32_t group_words;          /* weight words per group of channels (all its taps) */
    int32_t weight_row;           /* weight words between rows of taps */
    int32_t offset;               /* minus the zero point, in both int16 lanes */
} span;

/* Accumulators of the whole groups of channels into acc, from their bias and the taps that start
 * at input `in` and weights `wt` (those of the first group). Out of line so that its loops have
 * the registers to themselves. */
static EC_NOINLINE void whole_groups(const span *s, const int32_t *bias, const int8_t *in, const ec_word *wt, int32_t *acc)
{
    const int32_t col_step = s->col_step, offset = s->offset;
    for (int32_t g = s->groups; g > 0; g--, bias += 4, acc += 4, in += 4, wt += s->group_words) {
        quad a = {bias[0], bias[1], bias[2], bias[3]};
        const int8_t *row = in;
        const ec_word *w = wt;
        if (s->cols == 3) {
            /* The 3x3 filters of MobileNets away from the left and right padding. */
            for (int32_t r = s->rows; r > 0; r--, row += s->row_step, w += s->weight_row) {
                tap4(&a, ec_load4(row), w, offset);
                tap4(&a, ec_load4(row + col_step), w + 2, offset);
                tap4(&a, ec_load4(row + 2 * col_step), w + 4, offset);
            }
        } else {
            for (int32_t r = s->rows; r > 0; r--, row += s->row_step, w += s->weight_row) {
                for (int32_t k = 0; k < s->cols; k++) tap4(&a, ec_load4(row + k * col_step), w + 2 * k, offset);
            }
        }
        acc[0] = a.c0;
        acc[1] = a.c1;
        acc[2] = a.c2;
        acc[3] = a.c3;
    }
}

/* Output channel oc, which reads input channel ic, one tap at a time; weights[tap * stride + oc]. */
static int32_t one_channel(const ec_window *w, int32_t zero_point, const int16_t *weights, int32_t stride, const int8_t *image,
                           const ec_taps *t, int32_t ic, int32_t oc, int32_t acc)
{
    for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
        for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
            const int32_t iy = t->iy0 + ky * w->dilation_height, ix = t->ix0 + kx * w->dilation_width;
            const int32_t v = image[(iy * w->in_width + ix) * w->in_channels + ic] - zero_point;
            acc = ec_mla(v, weights[(ky * w->filter_width + kx) * stride + oc], acc);
        }
    }
    return acc;
}

/* Output pixels [0, pixels) of a run in which every tap of a 3x3 filter reads the input, for a layer
 * whose channels all come in groups of four and whose requantization needs no range checks: the
 * taps need no bounds and the accumulators go from registers straight to the output. `in` is the
 * input under tap (0, 0) of the first pixel, `full` whether the activation clips nothing the int8
 * range does not (a constant in each of the two copies the caller compiles). */
EC_INLINE void interior_run_3x3(const ec_depthwise_conv2d_s8_params *p, const span *s, const int8_t *in, int8_t *out, int32_t pixels,
                                int32_t full)
{
    const ec_output_s8 k = p->output;
    const int32_t zero_point2 = 2 * k.output_zero_point + 1;
    const int32_t col_step = s->col_step, col_step2 = 2 * s->col_step, offset = s->offset;
    const int32_t pixel_step = p->window.stride_width * p->window.in_channels;
    for (; pixels > 0; pixels--, in += pixel_step) {
        const ec_word *w = (const ec_word *)p->weights;
        const int32_t *bias = k.bias, *q = k.requant;
        /* One pointer per row of taps, each stepping through the channels. */
        const int8_t *r0 = in, *r1 = in + s->row_step, *r2 = in + 2 * s->row_step;
        for (int32_t g = s->groups; g > 0; g--, w += 18, bias += 4, q += 8, r0 += 4, r1 += 4, r2 += 4) {
            quad a = {bias[0], bias[1], bias[2], bias[3]};
            tap4(&a, ec_load4(r0), w, offset);
            tap4(&a, ec_load4(r0 + col_step), w + 2, offset);
            tap4(&a, ec_load4(r0 + col_step2), w + 4, offset);
            tap4(&a, ec_load4(r1), w + 6, offset);
            tap4(&a, ec_load4(r1 + col_step), w + 8, offset);
            tap4(&a, ec_load4(r1 + col_step2), w + 10, offset);
            tap4(&a, ec_load4(r2), w + 12, offset);
            tap4(&a, ec_load4(r2 + col_step), w + 14, offset);
            tap4(&a, ec_load4(r2 + col_step2), w + 16, offset);
            *out++ = ec_output_fast(&k, a.c0, q, zero_point2, full);
            *out++ = ec_output_fast(&k, a.c1, q + 2, zero_point2, full);
            *out++ = ec_output_fast(&k, a.c2, q + 4, zero_point2, full);
            *out++ = ec_output_fast(&k, a.c3, q + 6, zero_point2, full);
        }
    }
}

static EC_NOINLINE void interior_3x3(const ec_depthwise_conv2d_s8_params *p, const span *s, const int8_t *in, int8_t *out, int32_t pixels)
{
    if (p->output.act_min == -128 && p->output.act_max == 127) {
        interior_run_3x3(p, s, in, out, pixels, 1);
    } else {
        interior_run_3x3(p, s, in, out, pixels, 0);
    }
}

/* The first output index whose window starts at or after input position 0, and the number of
 * consecutive outputs from there whose window of `taps` taps ends inside the input. */
static void inside_range(int32_t pad, int32_t stride, int32_t dilation, int32_t taps, int32_t in_size, int32_t out_size, int32_t *first,
                         int32_t *count)
{
    int32_t i = (pad + stride - 1) / stride;
    *first = i;
    while (i < out_size && i * stride - pad + (taps - 1) * dilation < in_size) i++;
    *count = i > *first ? i - *first : 0;
}

void ec_depthwise_conv2d_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->in_channels;
    const int32_t whole = channels & ~3;
    const int32_t taps = w->filter_height * w->filter_width;
    const int32_t *bias = p->output.bias;
    int32_t *acc = (int32_t *)scratch;
    /* Four channels' weights per tap, two words, each group's taps together; then the rest. */
    const ec_word *const grouped = (const ec_word *)p->weights;
    const int16_t *const rest = p->weights + taps * whole;
    span s;
    s.groups = whole / 4;
    s.col_step = w->dilation_width * channels;
    s.row_step = w->dilation_height * w->in_width * channels;
    s.group_words = 2 * taps;
    s.weight_row = 2 * w->filter_width;
    s.offset = (int32_t)(((uint32_t)-p->input_zero_point & 0xffffu) * 0x10001u);
    /* Where the 3x3 path applies: the rectangle of outputs whose windows lie wholly in the input. */
    int32_t y_first = 0, y_count = 0, x_first = 0, x_count = 0;
    if (w->filter_height == 3 && w->filter_width == 3 && whole == channels && p->output.fast) {
        inside_range(w->pad_top, w->stride_height, w->dilation_height, 3, w->in_height, w->out_height, &y_first, &y_count);
        inside_range(w->pad_left, w->stride_width, w->dilation_width, 3, w->in_width, w->out_width, &x_first, &x_count);
    }
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * channels;
        for (int32_t y = 0; y < w->out_height; y++) {
            const int32_t run = y - y_first < y_count && y >= y_first ? x_count : 0;
            for (int32_t x = 0; x < w->out_width; x++, output += channels) {
                const ec_taps t = ec_taps_at(w, y, x);
                if (x == x_first && run > 0) {
                    interior_3x3(p, &s, image + (t.iy0 * w->in_width + t.ix0) * channels, output, run);
                    x += run - 1;
                    output += (run - 1) * channels;
                    continue;
                }
                /* A window wholly in the padding (possible with dilation) has no taps at all. */
                s.rows = t.ky1 > t.ky0 && t.kx1 > t.kx0 ? t.ky1 - t.ky0 : 0;
                s.cols = t.kx1 - t.kx0;
                const int32_t first_in = s.rows ? ((t.iy0 + t.ky0 * w->dilation_height) * w->in_width + t.ix0 + t.kx0 * w->dilation_width) * channels : 0;
                const int32_t first_tap = s.rows ? t.ky0 * w->filter_width + t.kx0 : 0;
                whole_groups(&s, bias, image + first_in, grouped + 2 * first_tap, acc);
                for (int32_t c = whole; c < channels; c++) {
                    acc[c] = one_channel(w, p->input_zero_point, rest, channels - whole, image, &t, c, c - whole, bias[c]);
                }
                ec_output_row(&p->output, acc, channels, output);
            }
        }
    }
}

void ec_depthwise_conv2d_mult_s8(const ec_depthwise_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    int32_t *acc = (int32_t *)scratch;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * in_c;
        for (int32_t y = 0; y < w->out_height; y++) {
            for (int32_t x = 0; x < w->out_width; x++, output += out_c) {
                const ec_taps t = ec_taps_at(w, y, x);
                for (int32_t c = 0; c < out_c; c++) {
                    acc[c] = one_channel(w, p->input_zero_point, p->weights, out_c, image, &t, c / p->depth_multiplier, c, p->output.bias[c]);
                }
                ec_output_row(&p->output, acc, out_c, output);
            }
        }
    }
}

/* ---- 3x3 on channel planes (ec_depthwise_conv2d_3x3_s8) ----
 *
 * Scratch: per channel, per pair of plane columns (2j, 2j + 1), one word (two int16 values) for each
 * of the three ring slots. Plane column x + pad_left holds input column x minus the zero point; the
 * other columns stay zero (the padding), and so do slots holding rows above or below the input.
 * Slot i % 3 holds input row i; an output row's taps read the three slots at fixed offsets and the
 * weight rows are matched to them instead. */

/* Pairs of plane columns: every column the output pairs read (the last pair of an odd width
 * computes one output too many), plus one. */
static int32_t dw3_pairs(const ec_window *w)
{
    return (w->stride_width * ((w->out_width + 1) & ~1) + 2) / 2;
}

size_t ec_depthwise_conv2d_3x3_s8_scratch_size(const ec_depthwise_conv2d_3x3_s8_params *p)
{
    return 3u * (size_t)p->window.in_channels * (size_t)dw3_pairs(&p->window) * sizeof(int32_t);
}

/* Pixels 0 .. width - 1 of the input row `in` minus the zero point into slot words dst (the slot's
 * word of channel 0, pair 0), plane column x + pad of channel c in word (c * pairs + (x + pad) / 2) * 3,
 * lane (x + pad) % 2; pad is 0 or 1. */
static EC_NOINLINE void dw3_widen(const int8_t *in, int32_t width, int32_t channels, int32_t pairs, int32_t pad, int32_t zero_point, int16_t *dst)
{
    const int32_t offset = (int32_t)(((uint32_t)-zero_point & 0xffffu) * 0x10001u);
    const int32_t whole = channels & ~3;
    const int32_t plane = 6 * pairs; /* int16 values per channel */
    int32_t c = 0;
    for (; c < whole; c += 4) {
        int16_t *d0 = dst + c * plane, *d1 = d0 + plane, *d2 = d1 + plane, *d3 = d2 + plane;
        const int8_t *s = in + c;
        int32_t x = 0;
        if (pad) {
            /* Pixel 0 in the high lane of pair 0, the padding column in the low lane. */
            const int32_t v = ec_load4(s);
            const int32_t e = ec_sxtab16(offset, v), o = ec_sxtab16_odd(offset, v);
            ec_store4(d0, ec_pack_lo(0, e));
            ec_store4(d2, ec_pack_hi(0, e));
            ec_store4(d1, ec_pack_lo(0, o));
            ec_store4(d3, ec_pack_hi(0, o));
            d0 += 6, d1 += 6, d2 += 6, d3 += 6;
            s += channels;
            x = 1;
        }
        /* Two pixels at a time: each channel's two values packed into one word. */
        for (; x + 2 <= width; x += 2, s += 2 * channels, d0 += 6, d1 += 6, d2 += 6, d3 += 6) {
            const int32_t v0 = ec_load4(s), v1 = ec_load4(s + channels);
            const int32_t e0 = ec_sxtab16(offset, v0), e1 = ec_sxtab16(offset, v1);
            const int32_t o0 = ec_sxtab16_odd(offset, v0), o1 = ec_sxtab16_odd(offset, v1);
            ec_store4(d0, ec_pack_lo(e0, e1));
            ec_store4(d2, ec_pack_hi(e0, e1));
            ec_store4(d1, ec_pack_lo(o0, o1));
            ec_store4(d3, ec_pack_hi(o0, o1));
        }
        if (x < width) {
            const int32_t v = ec_load4(s);
            const int32_t e = ec_sxtab16(offset, v), o = ec_sxtab16_odd(offset, v);
            ec_store4(d0, ec_pack_lo(e, 0));
            ec_store4(d2, ec_pack_hi(e, 0));
            ec_store4(d1, ec_pack_lo(o, 0));
            ec_store4(d3, ec_pack_hi(o, 0));
        }
    }
    for (; c < channels; c++) {
        int16_t *const d = dst + c * plane;
        for (int32_t x = 0; x < width; x++) d[(x + pad) / 2 * 6 + (x + pad) % 2] = (int16_t)(in[x * channels + c] - zero_point);
    }
}

/* Slot s's taps for the outputs at plane columns 0 and stride, from the words r[s], r[s + 3] (and
 * r[s + 6]): a = (w0, w1), b = (w1, w2) of the weight row the slot holds. */
EC_INLINE void dw3_taps(const int16_t *r, int32_t a, int32_t b, int32_t *acc0, int32_t *acc1, int32_t stride)
{
    const int32_t v0 = ec_load4(r), v1 = ec_load4(r + 6);
    *acc0 = ec_smlad(v0, a, *acc0);     /* p0 w0 + p1 w1 */
    *acc0 = ec_smlabt(v1, b, *acc0);    /* p2 w2 */
    if (stride == 1) {
        *acc1 = ec_smlatb(v0, a, *acc1); /* p1 w0 */
        *acc1 = ec_smlad(v1, b, *acc1);  /* p2 w1 + p3 w2 */
    } else {
        *acc1 = ec_smlad(v1, a, *acc1);              /* p2 w0 + p3 w1 */
        *acc1 = ec_smlabt(ec_load4(r + 12), b, *acc1); /* p4 w2 */
    }
}

#if EC_ASM_V7EM
/* dw3_taps of all three slots at once: the three slots' words of one pair of plane columns lie side
 * by side, so one LDM reads them (into r8-r10: LDM fills its registers in ascending order); `r`
 * advanced by one output pair. Two LDMs an output pair at stride 1, three at stride 2, where the
 * compiler's code has six and nine loads. */
#define EC_DW3_LOAD(wb) "ldm %[r]" wb ", {%[v0], %[v1], %[v2]}\n\t"
#define EC_DW3_MAC(op, acc, w) op " %[" acc "], %[v0], %[" w "0], %[" acc "]\n\t" \
                               op " %[" acc "], %[v1], %[" w "1], %[" acc "]\n\t" \
                               op " %[" acc "], %[v2], %[" w "2], %[" acc "]\n\t"
EC_INLINE void dw3_pair_taps(const int16_t **r, int32_t a0, int32_t b0, int32_t a1, int32_t b1, int32_t a2, int32_t b2, int32_t *acc0,
                             int32_t *acc1, int32_t stride)
{
    register int32_t v0 __asm__("r8"), v1 __asm__("r9"), v2 __asm__("r10");
    if (stride == 1) {
        __asm__(EC_DW3_LOAD("!") EC_DW3_MAC("smlad", "x", "a") EC_DW3_MAC("smlatb", "y", "a")    /* p0 w0 + p1 w1; p1 w0 */
                EC_DW3_LOAD("") EC_DW3_MAC("smlabt", "x", "b") EC_DW3_MAC("smlad", "y", "b")     /* p2 w2; p2 w1 + p3 w2 */
                : [x] "+r"(*acc0), [y] "+r"(*acc1), [r] "+r"(*r), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2)
                : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [b0] "r"(b0), [b1] "r"(b1), [b2] "r"(b2)
                : "memory");
    } else {
        __asm__(EC_DW3_LOAD("!") EC_DW3_MAC("smlad", "x", "a")                                   /* p0 w0 + p1 w1 */
                EC_DW3_LOAD("!") EC_DW3_MAC("smlabt", "x", "b") EC_DW3_MAC("smlad", "y", "a")    /* p2 w2; p2 w0 + p3 w1 */
                EC_DW3_LOAD("") EC_DW3_MAC("smlabt", "y", "b")                                   /* p4 w2 */
                : [x] "+r"(*acc0), [y] "+r"(*acc1), [r] "+r"(*r), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2)
                : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [b0] "r"(b0), [b1] "r"(b1), [b2] "r"(b2)
                : "memory");
    }
}
#undef EC_DW3_LOAD
#undef EC_DW3_MAC
#endif

/* ec_requantize2 and the clamp; `fix` says mode 1 or 2 (the sign correction, and a clamp to
 * [lo, hi]), else mode 0 (one SSAT). */
EC_INLINE int8_t dw3_out(int32_t acc, const int32_t *q, int32_t fix, int32_t lo, int32_t hi)
{
    int32_t t = ec_smmlar(acc, q[1], q[2]);
    if (fix) t += acc >> 31;
    t >>= q[3];
    return fix ? (int8_t)ec_clamp_s32(t, lo, hi) : ec_sat_s8(t);
}

/* Every channel of one output row. The slots hold the window's rows in some order: slot s holds
 * row k, whose weights start at tap rows[s] = 3k. */
EC_INLINE void dw3_output_row(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out,
                              int32_t stride, int32_t fix)
{
    const int32_t channels = p->window.in_channels, width = p->window.out_width;
    const int32_t plane = 6 * dw3_pairs(&p->window);
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    const int16_t *wt = p->weights;
    const int32_t *q = p->output.channels;
    const int32_t k0 = rows[0], k1 = rows[1], k2 = rows[2];
    for (int8_t *const end = out + channels; out != end; out++, ring += plane, wt += 9, q += 4) {
        const int32_t a0 = ec_load4(wt + k0), b0 = ec_load4(wt + k0 + 1);
        const int32_t a1 = ec_load4(wt + k1), b1 = ec_load4(wt + k1 + 1);
        const int32_t a2 = ec_load4(wt + k2), b2 = ec_load4(wt + k2 + 1);
        const int16_t *r = ring;
        int8_t *o = out;
        for (int32_t n = width >> 1; n > 0; n--) {
            int32_t acc0 = q[0], acc1 = q[0];
#if EC_ASM_V7EM
            dw3_pair_taps(&r, a0, b0, a1, b1, a2, b2, &acc0, &acc1, stride);
#else
            dw3_taps(r, a0, b0, &acc0, &acc1, stride);
            dw3_taps(r + 2, a1, b1, &acc0, &acc1, stride);
            dw3_taps(r + 4, a2, b2, &acc0, &acc1, stride);
            r += 6 * stride;
#endif
            /* Both before either store, which could alias q for all the compiler knows. */
            const int8_t y0 = dw3_out(acc0, q, fix, lo, hi), y1 = dw3_out(acc1, q, fix, lo, hi);
            o[0] = y0;
            o[channels] = y1;
            o += 2 * channels;
        }
        if (width & 1) {
            int32_t acc0 = q[0];
            acc0 = ec_smlabt(ec_load4(r + 6), b0, ec_smlad(ec_load4(r), a0, acc0));
            acc0 = ec_smlabt(ec_load4(r + 8), b1, ec_smlad(ec_load4(r + 2), a1, acc0));
            acc0 = ec_smlabt(ec_load4(r + 10), b2, ec_smlad(ec_load4(r + 4), a2, acc0));
            o[0] = dw3_out(acc0, q, fix, lo, hi);
        }
    }
}

typedef void dw3_row_fn(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out);
static EC_NOINLINE void dw3_row_s1_mode0(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out)
{
    dw3_output_row(p, ring, rows, out, 1, 0);
}
static EC_NOINLINE void dw3_row_s1_fix(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out)
{
    dw3_output_row(p, ring, rows, out, 1, 1);
}
static EC_NOINLINE void dw3_row_s2_mode0(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out)
{
    dw3_output_row(p, ring, rows, out, 2, 0);
}
static EC_NOINLINE void dw3_row_s2_fix(const ec_depthwise_conv2d_3x3_s8_params *p, const int16_t *ring, const int32_t *rows, int8_t *out)
{
    dw3_output_row(p, ring, rows, out, 2, 1);
}

void ec_depthwise_conv2d_3x3_s8(const ec_depthwise_conv2d_3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->in_channels, pairs = dw3_pairs(w);
    const int32_t in_row = w->in_width * channels, out_row = w->out_width * channels;
    /* The input columns the planes hold (those right of the last pair's window are never read). */
    const int32_t cols = w->in_width < 2 * pairs - w->pad_left ? w->in_width : 2 * pairs - w->pad_left;
    int16_t *const ring = (int16_t *)scratch;
    const size_t bytes = 3u * (size_t)channels * (size_t)pairs * sizeof(int32_t);
    dw3_row_fn *const row_fn = w->stride_width == 1 ? (p->output.mode == 0 ? dw3_row_s1_mode0 : dw3_row_s1_fix)
                                                    : (p->output.mode == 0 ? dw3_row_s2_mode0 : dw3_row_s2_fix);
    /* The padding columns stay zero; so do the rows above and below the input. */
    memset(ring, 0, bytes);
    int32_t dirty[3] = {0, 0, 0};
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *const image = input + b * w->in_height * in_row;
        /* The input row each slot holds (INT32_MIN: none). */
        int32_t held[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
        for (int32_t y = 0; y < w->out_height; y++, output += out_row) {
            int32_t rows[3];
            for (int32_t k = 0; k < 3; k++) {
                const int32_t i = y * w->stride_height - w->pad_top + k;
                const int32_t s = ((i % 3) + 3) % 3;
                rows[s] = 3 * k;
                if (held[s] == i) continue;
                held[s] = i;
                if (i >= 0 && i < w->in_height) {
                    dw3_widen(image + i * in_row, cols, channels, pairs, w->pad_left, p->input_zero_point, ring + 2 * s);
                    dirty[s] = 1;
                } else if (dirty[s]) {
                    for (int32_t word = s; word < 3 * channels * pairs; word += 3) ec_store4(ring + 2 * word, 0);
                    dirty[s] = 0;
                }
            }
            row_fn(p, ring, rows, output);
        }
    }
}
