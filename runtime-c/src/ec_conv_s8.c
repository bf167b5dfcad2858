/* int8 convolution as a matrix product. The receptive field of an output pixel is gathered into a
 * column (padding reads as the input zero point), widened to int16 with the zero point subtracted,
 * and multiplied by the weight rows two output channels by two pixels at a time: each weight word
 * unpacked serves two pixels and each column word serves two channels. */
#include "ec_nn.h"

/* Values per filter, rounded up to whole words of four bytes (the weight rows are padded with zeros). */
static int32_t depth4(const ec_window *w)
{
    return (w->filter_height * w->filter_width * w->in_channels + 3) & ~3;
}

size_t ec_conv2d_s8_scratch_size(const ec_conv2d_s8_params *p)
{
    return 2u * (size_t)depth4(&p->window) * sizeof(int16_t);
}

/* n int8 values minus the zero point, as int16 pairs in the order SXTB16 unpacks them: each group
 * of four bytes b0..b3 becomes the pairs (b0, b2) and (b1, b3), matching the weights unpacked the
 * same way. A short last group is padded (the weights there are zero) and reads no further than
 * src + n. src may lie in the upper half of dst's memory: each group of four bytes is read before
 * its widened copy is written, and that copy never reaches the groups still to be read. */
static void widen(const int8_t *src, int32_t n, int32_t zero_point, int16_t *dst)
{
    const int32_t offset = (int32_t)(((uint32_t)-zero_point & 0xffffu) * 0x10001u);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t x = ec_load4(src + i);
        ec_store4(dst + i, ec_sxtab16(offset, x));
        ec_store4(dst + i + 2, ec_sxtab16_odd(offset, x));
    }
    if (i < n) {
        uint32_t x = 0;
        for (int32_t k = 0; i + k < n; k++) x |= (uint32_t)(uint8_t)src[i + k] << (8 * k);
        ec_store4(dst + i, ec_sxtab16(offset, (int32_t)x));
        ec_store4(dst + i + 2, ec_sxtab16_odd(offset, (int32_t)x));
    }
}

static void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) ec_store4(dst + i, ec_load4(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

static void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    for (int32_t i = 0; i < n; i++) dst[i] = value;
}

/* The column of output pixel (y, x) of one image. The int8 values are staged in the upper half of
 * the column's memory and widened in place. */
static void gather(const ec_conv2d_s8_params *p, const int8_t *image, int32_t y, int32_t x, int16_t *col)
{
    const ec_window *w = &p->window;
    const int32_t channels = w->in_channels;
    const int32_t row_bytes = w->filter_width * channels;
    const int8_t zero_point = (int8_t)p->input_zero_point;
    int8_t *const staged = (int8_t *)col + depth4(w);
    int8_t *d = staged;

    const ec_taps t = ec_taps_at(w, y, x);
    for (int32_t ky = 0; ky < w->filter_height; ky++, d += row_bytes) {
        if (ky < t.ky0 || ky >= t.ky1 || t.kx0 >= t.kx1) {
            fill_bytes(d, zero_point, row_bytes);
            continue;
        }
        const int32_t row = (t.iy0 + ky * w->dilation_height) * w->in_width;
        fill_bytes(d, zero_point, t.kx0 * channels);
        if (w->dilation_width == 1) {
            copy_bytes(d + t.kx0 * channels, image + (row + t.ix0 + t.kx0) * channels, (t.kx1 - t.kx0) * channels);
        } else {
            for (int32_t kx = t.kx0; kx < t.kx1; kx++) {
                copy_bytes(d + kx * channels, image + (row + t.ix0 + kx * w->dilation_width) * channels, channels);
            }
        }
        fill_bytes(d + t.kx1 * channels, zero_point, (w->filter_width - t.kx1) * channels);
    }
    widen(staged, (int32_t)(d - staged), p->input_zero_point, col);
}

/* All output channels of two pixels from their columns (col1 may equal col0, out1 out0). */
static void multiply(const ec_conv2d_s8_params *p, const int16_t *col0, const int16_t *col1, int8_t *out0, int8_t *out1)
{
    const int32_t n4 = depth4(&p->window);
    const int32_t channels = p->window.out_channels;
    const ec_output_s8 *o = &p->output;
    for (int32_t c = 0; c < channels; c += 2) {
        /* An odd last channel is computed twice rather than by a second loop. */
        const int32_t c1 = c + 1 < channels ? c + 1 : c;
        const int8_t *w0 = p->weights + c * n4;
        const int8_t *w1 = p->weights + c1 * n4;
        const int16_t *x0 = col0;
        const int16_t *x1 = col1;
        int32_t acc00 = o->bias[c], acc01 = acc00; /* channel c, pixels 0 and 1 */
        int32_t acc10 = o->bias[c1], acc11 = acc10;
        for (int32_t k = n4 >> 2; k > 0; k--) {
            const int32_t wa = ec_load4(w0), wb = ec_load4(w1);
            const int32_t wa_even = ec_sxtb16(wa), wa_odd = ec_sxtb16_odd(wa);
            const int32_t wb_even = ec_sxtb16(wb), wb_odd = ec_sxtb16_odd(wb);
            const int32_t x0_even = ec_load4(x0), x0_odd = ec_load4(x0 + 2);
            const int32_t x1_even = ec_load4(x1), x1_odd = ec_load4(x1 + 2);
            acc00 = ec_smlad(wa_even, x0_even, acc00);
            acc01 = ec_smlad(wa_even, x1_even, acc01);
            acc10 = ec_smlad(wb_even, x0_even, acc10);
            acc11 = ec_smlad(wb_even, x1_even, acc11);
            acc00 = ec_smlad(wa_odd, x0_odd, acc00);
            acc01 = ec_smlad(wa_odd, x1_odd, acc01);
            acc10 = ec_smlad(wb_odd, x0_odd, acc10);
            acc11 = ec_smlad(wb_odd, x1_odd, acc11);
            w0 += 4;
            w1 += 4;
            x0 += 4;
            x1 += 4;
        }
        out0[c] = ec_output(o, acc00, c);
        out1[c] = ec_output(o, acc01, c);
        out0[c1] = ec_output(o, acc10, c1);
        out1[c1] = ec_output(o, acc11, c1);
    }
}

void ec_conv2d_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    int16_t *const col0 = (int16_t *)scratch;
    int16_t *const col1 = col0 + depth4(w);
    const int32_t pixels = w->out_height * w->out_width;
    for (int32_t b = 0; b < w->batches; b++) {
        const int8_t *image = input + b * w->in_height * w->in_width * w->in_channels;
        int8_t *out = output + b * pixels * w->out_channels;
        for (int32_t q = 0; q < pixels; q += 2) {
            gather(p, image, q / w->out_width, q % w->out_width, col0);
            if (q + 1 < pixels) {
                gather(p, image, (q + 1) / w->out_width, (q + 1) % w->out_width, col1);
                multiply(p, col0, col1, out + q * w->out_channels, out + (q + 1) * w->out_channels);
            } else {
                multiply(p, col0, col0, out + q * w->out_channels, out + q * w->out_channels);
            }
        }
    }
}

void ec_conv2d_1x1_s8(const ec_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const ec_window *w = &p->window;
    const int32_t in_c = w->in_channels;
    const int32_t out_c = w->out_channels;
    int16_t *const col0 = (int16_t *)scratch;
    int16_t *const col1 = col0 + depth4(w);
    const int32_t pixels = w->batches * w->out_height * w->out_width;
    for (int32_t q = 0; q < pixels; q += 2) {
        widen(input + q * in_c, in_c, p->input_zero_point, col0);
        if (q + 1 < pixels) {
            widen(input + (q + 1) * in_c, in_c, p->input_zero_point, col1);
            multiply(p, col0, col1, output + q * out_c, output + (q + 1) * out_c);
        } else {
            multiply(p, col0, col0, output + q * out_c, output + q * out_c);
        }
    }
}
