/* int8 fully connected layer: each row of the input times each weight row, two units at a time so
 * that every input word unpacked (with the zero point subtracted) serves two dot products. */
#include "ec_nn.h"

#if EC_ASM_V7EM
/* For the assembler loops below: acc += x0 . y0 + x1 . y1 (two SMLADs), operands by their asm names. */
#define EC_SMLAD2(acc, x0, y0, x1, y1)                          \
    "smlad %[" acc "], %[" x0 "], %[" y0 "], %[" acc "]\n\t" \
    "smlad %[" acc "], %[" x1 "], %[" y1 "], %[" acc "]\n\t"

/* `body` `n` > 0 times over four accumulators a0-a3 and the words at x and w, with the temporaries
 * p0-p3 in r8-r11 (for an LDM, which fills its registers in ascending order) and t0, t1. */
#define EC_LDM_LOOP(body, acc, xp, wp, count)                                                                                 \
    do {                                                                                                                   \
        register int32_t p0 __asm__("r8"), p1 __asm__("r9"), p2 __asm__("r10"), p3 __asm__("r11");                          \
        int32_t t0, t1;                                                                                                    \
        __asm__ volatile("1:\n\t" body "subs %[n], %[n], #1\n\t"                                                          \
                         "bne 1b\n\t"                                                                                     \
                         : [a0] "+r"((acc)[0]), [a1] "+r"((acc)[1]), [a2] "+r"((acc)[2]), [a3] "+r"((acc)[3]), [x] "+r"(xp), \
                           [w] "+r"(wp), [n] "+r"(count), [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3),     \
                           [t0] "=&r"(t0), [t1] "=&r"(t1)                                                                 \
                         :                                                                                                 \
                         : "cc", "memory");                                                                                \
    } while (0)

/* One group of a loop over words of x and w: `first` loads what serves both halves, `second` (before
 * each half) the rest; then a0 += (t0, t1) . (p0, p1), a1 += (t0, t1) . (p2, p3), and a2, a3 the same. */
#define EC_LDRD_T(ptr) "ldrd %[t0], %[t1], [%[" ptr "]], #8\n\t"
#define EC_LDM_P(ptr) "ldm %[" ptr "]!, {%[p0], %[p1], %[p2], %[p3]}\n\t"
#define EC_GROUP(first, second)                                                                                  \
    first second EC_SMLAD2("a0", "t0", "p0", "t1", "p1") EC_SMLAD2("a1", "t0", "p2", "t1", "p3") second EC_SMLAD2( \
        "a2", "t0", "p0", "t1", "p1") EC_SMLAD2("a3", "t0", "p2", "t1", "p3")
#endif

EC_INLINE void fully_connected(const ec_fully_connected_s8_params *p, const int8_t *input, int8_t *output, int32_t fast)
{
    const int32_t depth = p->depth;
    const int32_t whole = depth & ~3;
    const int32_t offset = (int32_t)(((uint32_t)-p->input_zero_point & 0xffffu) * 0x10001u);
    /* A copy the stores cannot alias, so its fields stay in registers. */
    const ec_output_s8 o = p->output;
    for (int32_t r = 0; r < p->rows; r++, input += depth, output += p->units) {
        for (int32_t u = 0; u < p->units; u += 2) {
            /* An odd last unit is computed twice rather than by a second loop. */
            const int32_t u1 = u + 1 < p->units ? u + 1 : u;
            const int8_t *w0 = p->weights + u * depth;
            const int8_t *w1 = p->weights + u1 * depth;
            int32_t acc0 = o.bias[u], acc1 = o.bias[u1];
            int32_t k = 0;
            for (; k < whole; k += 4) {
                const int32_t x = ec_load4(input + k);
                const int32_t x_even = ec_sxtab16(offset, x), x_odd = ec_sxtab16_odd(offset, x);
                const int32_t wa = ec_load4(w0 + k), wb = ec_load4(w1 + k);
                acc0 = ec_smlad(ec_sxtb16(wa), x_even, acc0);
                acc0 = ec_smlad(ec_sxtb16_odd(wa), x_odd, acc0);
                acc1 = ec_smlad(ec_sxtb16(wb), x_even, acc1);
                acc1 = ec_smlad(ec_sxtb16_odd(wb), x_odd, acc1);
            }
            for (; k < depth; k++) {
                const int32_t v = input[k] - p->input_zero_point;
                acc0 = ec_mla(v, w0[k], acc0);
                acc1 = ec_mla(v, w1[k], acc1);
            }
            output[u] = (int8_t)ec_output(&o, acc0, u, fast);
            output[u1] = (int8_t)ec_output(&o, acc1, u1, fast);
        }
    }
}

/* One copy of the loops for each kind of requantization. */
void ec_fully_connected_s8(const ec_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    if (p->output.fast) {
        fully_connected(p, input, output, 1);
    } else {
        fully_connected(p, input, output, 0);
    }
}

/* Four input bytes, the last `n` < 4 of them read one at a time (the rest zero: their weights are). */
EC_INLINE int32_t load_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    for (int32_t k = 0; k < n; k++) v |= (uint32_t)(uint8_t)x[k] << (8 * k);
    return (int32_t)v;
}

/* Group g of four values of a row of `groups` whole groups and a `tail` (the group after them). */
EC_INLINE int32_t group_at(const int8_t *row, int32_t g, int32_t groups, int32_t tail)
{
    return g < groups ? ec_load4(row + 4 * g) : load_tail(row + 4 * g, tail);
}

/* ---- one row: four units per pass ---- */

/* Four units' dot products: each input word split into its even and odd bytes (by SXTB16, or once
 * for the whole row into scratch) serves the four units, whose weights are already int16. */
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4;

EC_INLINE void step4(acc4 *a, int32_t even, int32_t odd, const ec_word **w)
{
    int32_t we, wo;
    ec_load_words2(w, &we, &wo);
    a->a0 = ec_smlad(even, we, a->a0);
    a->a0 = ec_smlad(odd, wo, a->a0);
    ec_load_words2(w, &we, &wo);
    a->a1 = ec_smlad(even, we, a->a1);
    a->a1 = ec_smlad(odd, wo, a->a1);
    ec_load_words2(w, &we, &wo);
    a->a2 = ec_smlad(even, we, a->a2);
    a->a2 = ec_smlad(odd, wo, a->a2);
    ec_load_words2(w, &we, &wo);
    a->a3 = ec_smlad(even, we, a->a3);
    a->a3 = ec_smlad(odd, wo, a->a3);
}

EC_INLINE void step4_raw(acc4 *a, int32_t x, const ec_word **w)
{
    step4(a, ec_sxtb16(x), ec_sxtb16_odd(x), w);
}

/* n groups from the raw row x (whole groups, then a `tail` of values). */
EC_INLINE void units4_raw(acc4 *a, const int8_t *x, int32_t groups, int32_t tail, const ec_word **w)
{
    int32_t g = groups;
    for (; g >= 2; g -= 2, x += 8) {
        step4_raw(a, ec_load4(x), w);
        step4_raw(a, ec_load4(x + 4), w);
    }
    if (g) {
        step4_raw(a, ec_load4(x), w);
        x += 4;
    }
    if (tail) step4_raw(a, load_tail(x, tail), w);
}

#if EC_ASM_V7EM
/* step4 of one group: its split words (t0, t1), then two units' weight words at a time by LDM. */
#define EC_GROUP_4 EC_GROUP(EC_LDRD_T("x"), EC_LDM_P("w"))

/* step4 over `pairs` > 0 pairs of groups: eleven instructions a group where the compiler's take twelve. */
EC_INLINE void pairs4(acc4 *a, const int32_t **xs, const ec_word **w, int32_t pairs)
{
    int32_t acc[4] = {a->a0, a->a1, a->a2, a->a3};
    EC_LDM_LOOP(EC_GROUP_4 EC_GROUP_4, acc, *xs, *w, pairs);
    a->a0 = acc[0], a->a1 = acc[1], a->a2 = acc[2], a->a3 = acc[3];
}
#undef EC_GROUP_4
#endif

/* n groups whose even and odd bytes are already split into xs. */
EC_INLINE void units4_split(acc4 *a, const int32_t *xs, int32_t n, const ec_word **w)
{
    int32_t g = n;
#if EC_ASM_V7EM
    if (g >= 2) pairs4(a, &xs, w, g >> 1);
    g &= 1;
#else
    for (; g >= 2; g -= 2, xs += 4) {
        step4(a, xs[0], xs[1], w);
        step4(a, xs[2], xs[3], w);
    }
#endif
    if (g) step4(a, xs[0], xs[1], w);
}

/* The biases of units u .. u + 3: words q[0], q[4], ... (the output stage has words for the padding units). */
EC_INLINE acc4 biases4(const int32_t *q)
{
    const acc4 a = {q[0], q[4], q[8], q[12]};
    return a;
}

/* The first `left` of the four units' outputs (`left` a constant in each copy). */
EC_INLINE void outputs4(const acc4 *a, const int32_t *q, int32_t left, int8_t *out, int32_t full, int32_t lo, int32_t hi)
{
    out[0] = ec_output2(a->a0, q + 1, 1, full, lo, hi);
    if (left > 1) out[1] = ec_output2(a->a1, q + 5, 1, full, lo, hi);
    if (left > 2) out[2] = ec_output2(a->a2, q + 9, 1, full, lo, hi);
    if (left > 3) out[3] = ec_output2(a->a3, q + 13, 1, full, lo, hi);
}

/* Few units: every group unpacked where it is used. */
EC_INLINE void row_raw(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, int32_t full)
{
    const int32_t units = p->units, groups = p->depth >> 2, tail = p->depth & 3;
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    const ec_word *w = (const ec_word *)p->weights;
    const int32_t *q = p->output.channels;
    for (int32_t u = 0; u < units; u += 4, q += 16, output += 4) {
        acc4 a = biases4(q);
        units4_raw(&a, input, groups, tail, &w);
        if (units - u >= 4) outputs4(&a, q, 4, output, full, lo, hi);
        else outputs4(&a, q, units - u, output, full, lo, hi);
    }
}

/* Groups per chunk when one row is split a chunk at a time, the accumulators kept in scratch between
 * chunks (chunks of equal length, at most EC_FC_CHUNK_GROUPS): where that takes less scratch than
 * splitting the whole row. Otherwise 0. */
static int32_t chunk_groups(const ec_fully_connected_w16_s8_params *p)
{
    const int32_t n = (p->depth + 3) >> 2, blocks = (p->units + 3) >> 2;
    const int32_t chunks = (n + EC_FC_CHUNK_GROUPS - 1) / EC_FC_CHUNK_GROUPS;
    const int32_t chunk = (n + chunks - 1) / chunks;
    return chunks > 1 && chunk * 8 + blocks * 16 < n * 8 ? chunk : 0;
}

/* Many units: the row's even and odd bytes split once for all of them, in chunks when `chunks` (a
 * constant in each copy; the chunked copy takes `full` at run time, its outputs being few). */
EC_INLINE void row_split(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, int32_t *xs, int32_t full,
                         int32_t chunks)
{
    const int32_t units = p->units, groups = p->depth >> 2, tail = p->depth & 3;
    const int32_t n = groups + (tail ? 1 : 0), blocks = (units + 3) >> 2;
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    const int32_t chunk = chunks ? chunk_groups(p) : n;
    int32_t *const partial = xs + 2 * chunk;
    if (chunks) {
        for (int32_t u = 0; u < 4 * blocks; u++) partial[u] = p->output.channels[4 * u];
    }
    for (int32_t g0 = 0; g0 < n; g0 += chunk) {
        const int32_t len = n - g0 < chunk ? n - g0 : chunk;
        for (int32_t g = 0; g < len; g++) {
            const int32_t x = group_at(input, g0 + g, groups, tail);
            xs[2 * g] = ec_sxtb16(x);
            xs[2 * g + 1] = ec_sxtb16_odd(x);
        }
        const int32_t last = g0 + len == n;
        const ec_word *w = (const ec_word *)p->weights + 8 * g0;
        const int32_t *q = p->output.channels;
        int32_t *acc = partial;
        for (int32_t u = 0; u < units; u += 4, q += 16, acc += 4, w += 8 * (n - len)) {
            acc4 a;
            if (chunks) {
                a.a0 = acc[0];
                a.a1 = acc[1];
                a.a2 = acc[2];
                a.a3 = acc[3];
            } else {
                a = biases4(q);
            }
            units4_split(&a, xs, len, &w);
            if (chunks && !last) {
                acc[0] = a.a0;
                acc[1] = a.a1;
                acc[2] = a.a2;
                acc[3] = a.a3;
            } else if (units - u >= 4) {
                outputs4(&a, q, 4, output + u, full, lo, hi);
            } else {
                outputs4(&a, q, units - u, output + u, full, lo, hi);
            }
        }
    }
}

/* ---- several rows: two rows by two units per pass ---- */

/* Accumulators of units u (a) and u + 1 (b), rows r and r + 1. */
typedef struct {
    int32_t a0, a1, b0, b1;
} tile;

/* One group: the two rows' split words (x), each unit's two weight words (w), eight SMLADs.
 * accumulate_w16 in ec_conv_s8.c is the same with the operands swapped, kept apart on purpose. */
EC_INLINE void step2x2(tile *t, const ec_word **x, const ec_word **w)
{
    int32_t x0_even, x0_odd, x1_even, x1_odd, even, odd;
    ec_load_words2(x, &x0_even, &x0_odd);
    ec_load_words2(x, &x1_even, &x1_odd);
    ec_load_words2(w, &even, &odd);
    t->a0 = ec_smlad(x0_even, even, t->a0);
    t->a0 = ec_smlad(x0_odd, odd, t->a0);
    t->a1 = ec_smlad(x1_even, even, t->a1);
    t->a1 = ec_smlad(x1_odd, odd, t->a1);
    ec_load_words2(w, &even, &odd);
    t->b0 = ec_smlad(x0_even, even, t->b0);
    t->b0 = ec_smlad(x0_odd, odd, t->b0);
    t->b1 = ec_smlad(x1_even, even, t->b1);
    t->b1 = ec_smlad(x1_odd, odd, t->b1);
}

#if EC_ASM_V7EM
/* One group as step2x2 does it: the two rows' four words in one LDM (p0-p3), each unit's words in t0, t1. */
#define EC_GROUP_2X2 EC_GROUP(EC_LDM_P("x"), EC_LDRD_T("w"))

/* step2x2 over `quads` > 0 runs of four groups: eleven instructions a group where the compiler's
 * code takes twelve (it has no LDM of four chosen registers). */
EC_INLINE void quads2x2(tile *t, const ec_word **x, const ec_word **w, int32_t quads)
{
    int32_t acc[4] = {t->a0, t->a1, t->b0, t->b1};
    EC_LDM_LOOP(EC_GROUP_2X2 EC_GROUP_2X2 EC_GROUP_2X2 EC_GROUP_2X2, acc, *x, *w, quads);
    t->a0 = acc[0], t->a1 = acc[1], t->b0 = acc[2], t->b1 = acc[3];
}
#undef EC_GROUP_2X2
#endif

/* Rows r0 and r1 split into xs group by group: r0's even and odd words, then r1's. */
static void split_rows(const int8_t *r0, const int8_t *r1, int32_t groups, int32_t tail, int32_t *xs)
{
    const int32_t n = groups + (tail ? 1 : 0);
    for (int32_t g = 0; g < n; g++, xs += 4) {
        const int32_t x0 = group_at(r0, g, groups, tail), x1 = group_at(r1, g, groups, tail);
        xs[0] = ec_sxtb16(x0);
        xs[1] = ec_sxtb16_odd(x0);
        xs[2] = ec_sxtb16(x1);
        xs[3] = ec_sxtb16_odd(x1);
    }
}

/* Units u and u + 1 (`both`, a constant; else u alone) of the two rows split into xs, written to
 * o[0], o[1] and o[d], o[d + 1]; w advanced past the pair's weights. */
EC_INLINE void unit_pair(const int32_t *xs, int32_t n, const ec_word **w, const int32_t *q, int8_t *o, int32_t d, int32_t both, int32_t fix,
                         int32_t full, int32_t lo, int32_t hi)
{
    tile t;
    t.a0 = t.a1 = q[0];
    t.b0 = t.b1 = q[4];
    const ec_word *x = (const ec_word *)xs;
    /* Four groups per loop pass (a short row is a few groups, and the loop's own instructions count). */
    int32_t k = n;
#if EC_ASM_V7EM
    if (k >= 4) quads2x2(&t, &x, w, k >> 2);
    k &= 3;
#else
    for (; k >= 4; k -= 4) {
        step2x2(&t, &x, w);
        step2x2(&t, &x, w);
        step2x2(&t, &x, w);
        step2x2(&t, &x, w);
    }
#endif
    if (k & 2) {
        step2x2(&t, &x, w);
        step2x2(&t, &x, w);
    }
    if (k & 1) step2x2(&t, &x, w);
    /* Both rows' outputs of a unit before either is stored, so its words are read once. */
    const int8_t y0 = ec_output2(t.a0, q + 1, fix, full, lo, hi), y1 = ec_output2(t.a1, q + 1, fix, full, lo, hi);
    o[0] = y0;
    o[d] = y1;
    if (both) {
        const int8_t z0 = ec_output2(t.b0, q + 5, fix, full, lo, hi), z1 = ec_output2(t.b1, q + 5, fix, full, lo, hi);
        o[1] = z0;
        o[d + 1] = z1;
    }
}

/* An odd last unit: one copy for every output mode (it runs once per pair of rows). */
static EC_NOINLINE void last_unit(const int32_t *xs, int32_t n, const ec_word *w, const int32_t *q, int8_t *o, int32_t d, int32_t fix, int32_t full,
                                  int32_t lo, int32_t hi)
{
    unit_pair(xs, n, &w, q, o, d, 0, fix, full, lo, hi);
}

/* `fix` and `full` constants in each copy (see ec_output2), and `n`, the groups per row, where a
 * copy has it as a constant (else 0). */
EC_INLINE void rows2(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, int32_t *xs, int32_t fix, int32_t full,
                     int32_t groups_per_row)
{
    const int32_t depth = p->depth, units = p->units, rows = p->rows;
    const int32_t groups = depth >> 2, tail = depth & 3;
    const int32_t n = groups_per_row ? groups_per_row : groups + (tail ? 1 : 0);
    const int32_t lo = p->output.act_min, hi = p->output.act_max;
    for (int32_t r = 0; r < rows; r += 2) {
        /* An odd last row fills both halves and is written twice. */
        const int32_t r1 = r + 1 < rows ? r + 1 : r;
        split_rows(input + r * depth, input + r1 * depth, groups, tail, xs);
        int8_t *o = output + r * units;
        const int32_t d = (r1 - r) * units;
        const ec_word *w = (const ec_word *)p->weights;
        const int32_t *q = p->output.channels;
        for (int32_t u = units >> 1; u > 0; u--, q += 8, o += 2) unit_pair(xs, n, &w, q, o, d, 1, fix, full, lo, hi);
        if (units & 1) last_unit(xs, n, w, q, o, d, fix, full, lo, hi);
    }
}

size_t ec_fully_connected_w16_s8_scratch_size(const ec_fully_connected_w16_s8_params *p)
{
    const size_t n = (size_t)((p->depth + 3) >> 2);
    if (p->units <= 4) return 0u;
    const int32_t chunk = chunk_groups(p);
    return chunk ? (size_t)chunk * 2u * sizeof(int32_t) + (size_t)((p->units + 3) >> 2) * 4u * sizeof(int32_t) : n * 2u * sizeof(int32_t);
}

/* One row: the sign correction is always made (one instruction per output, and outputs are few). */
void ec_fully_connected_w16_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t mode = p->output.mode;
    if (p->units <= 4) {
        if (mode != 2) row_raw(p, input, output, 1);
        else row_raw(p, input, output, 0);
    } else if (chunk_groups(p)) {
        row_split(p, input, output, (int32_t *)scratch, mode != 2, 1);
    } else {
        if (mode != 2) row_split(p, input, output, (int32_t *)scratch, 1, 0);
        else row_split(p, input, output, (int32_t *)scratch, 0, 0);
    }
}

size_t ec_fully_connected_w16_rows_s8_scratch_size(const ec_fully_connected_w16_s8_params *p)
{
    return (size_t)((p->depth + 3) >> 2) * 4u * sizeof(int32_t);
}

void ec_fully_connected_w16_rows_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t mode = p->output.mode;
    if (mode == 0) rows2(p, input, output, (int32_t *)scratch, 0, 1, 0);
    else if (mode == 1) rows2(p, input, output, (int32_t *)scratch, 1, 1, 0);
    else rows2(p, input, output, (int32_t *)scratch, 1, 0, 0);
}

/* With few groups per row the loops' own instructions weigh: rows of 2, 4, 8 and 16 groups in mode 0
 * have copies in which the count is a constant. */
#define EC_ROWS2_MODE0(n)                                                                                              \
    void ec_fully_connected_w16_rows##n##_s8(const ec_fully_connected_w16_s8_params *p, const int8_t *input, int8_t *output, \
                                             void *scratch)                                                             \
    {                                                                                                                   \
        rows2(p, input, output, (int32_t *)scratch, 0, 1, n);                                                           \
    }
EC_ROWS2_MODE0(2)
EC_ROWS2_MODE0(4)
EC_ROWS2_MODE0(8)
EC_ROWS2_MODE0(16)
#undef EC_ROWS2_MODE0
