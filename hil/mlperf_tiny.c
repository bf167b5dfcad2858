/*
 * MLPerf Tiny device under test: the EEMBC benchmark's text protocol on the console UART, so that
 * the MLPerf Tiny host runner can load an input, time inferences and read the outputs of this
 * build exactly as it does with the benchmark's reference firmware.
 *
 * The host sends ASCII commands ended by '%', words separated by spaces; every reply is a series
 * of CR LF lines ending with "m-ready", and a line starting with "e-[" reports an error.
 *   name             m-name-dut-[edgec]
 *   profile          the firmware identifier and m-model-[<network>]
 *   help             the command list
 *   timestamp        m-lap-us-<n>: microseconds at the board clock since boot
 *   db load N        start filling the input buffer with N bytes
 *   db HEX ...       append bytes, two hex digits each; m-load-done once N have arrived
 *   infer [N [W]]    W warm-up inferences (default 10), then N (default 1) between two timestamps,
 *                    then the results
 *   results          m-results-[v0,v1,...], the outputs of the last inference as real numbers
 *
 * What the buffer holds depends on the network this build stands for (mlperf_tiny_config.h): the
 * input tensor's own bytes (kws01), uint8 pixels the model takes as int8 pixel - 128 (ic01,
 * vww01), or float32 features quantized here (ad01, whose result is the reconstruction error).
 *
 * No heap and no stdio: replies are written piece by piece with board_uart_write.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "hil_model.h"
#include "hil_protocol.h"
#include "mlperf_tiny_config.h"

/* The runner's longest command, "db" and 31 bytes of hex, has 65 characters. */
#define COMMAND_MAX 80u
#define DEFAULT_WARMUPS 10u

static char command[COMMAND_MAX + 1u];

/* 4-byte aligned because ad01's buffer holds float32 values. */
static uint8_t db[MLPERF_DB_BYTES] __attribute__((aligned(4)));
/* Bytes `db load` announced, and bytes received since. */
static uint32_t db_expected;
static uint32_t db_received;

#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
/* The quantized features, kept apart from the floats because the result compares against those. */
static int8_t quantized[MLPERF_INPUT_ELEMENTS];
static float reconstruction_error;
#endif

static int have_results;

/* ---- Output ---- */

static void mlperf_put(const char *s) { board_uart_write(s, (unsigned)strlen(s)); }

static void mlperf_put_u64(uint64_t v) {
    char digits[20];
    unsigned n = 0;
    do {
        digits[sizeof digits - 1u - n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    board_uart_write(&digits[sizeof digits - n], n);
}

/*
 * Writes v with six decimals, rounded half away from zero from its exact binary value: the text
 * JavaScript's toFixed(6) gives for the same float, which is what the tests compare against.
 * Magnitudes of 2^63 and more, far beyond any dequantized output, are written as inf.
 */
static void mlperf_put_real(float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t biased = (bits >> 23) & 0xFFu;
    uint64_t mantissa = bits & 0x7FFFFFu;
    if (biased == 0xFFu) {
        mlperf_put(mantissa != 0u ? "nan" : v < 0.0f ? "-inf" : "inf");
        return;
    }
    if (biased == 0u) {
        biased = 1u; /* subnormal: no hidden bit, the smallest exponent */
    } else {
        mantissa |= 0x800000u;
    }
    /* |v| = mantissa * 2^shift exactly. */
    int32_t shift = (int32_t)biased - 150;
    uint64_t whole = 0;
    uint32_t millionths = 0;
    if (shift >= 0) {
        if (shift > 39) {
            mlperf_put(v < 0.0f ? "-inf" : "inf");
            return;
        }
        whole = mantissa << shift;
    } else if (shift > -45) {
        /* mantissa * 10^6 < 2^44, so the scaled value and every shift of it fit in 64 bits;
         * from a shift of 45 on the value is below half a millionth and rounds to 0. */
        uint32_t right = (uint32_t)-shift;
        uint64_t scaled = mantissa * 1000000u;
        uint64_t rounded = (scaled >> right) + ((scaled >> (right - 1u)) & 1u);
        whole = rounded / 1000000u;
        millionths = (uint32_t)(rounded % 1000000u);
    }
    if (v < 0.0f) mlperf_put("-");
    mlperf_put_u64(whole);
    char fraction[7] = {'.'};
    for (unsigned i = 6; i > 0; i--) {
        fraction[i] = (char)('0' + millionths % 10u);
        millionths /= 10u;
    }
    board_uart_write(fraction, sizeof fraction);
}

static void mlperf_end_line(void) { board_uart_write("\r\n", 2u); }

static void mlperf_line(const char *s) {
    mlperf_put(s);
    mlperf_end_line();
}

static void mlperf_error(const char *what, const char *detail) {
    mlperf_put("e-[");
    mlperf_put(what);
    mlperf_put(detail);
    mlperf_line("]");
}

/* ---- Time ---- */

/*
 * board_cycles() wraps every 2^32 cycles (25.6 s at 168 MHz). The total adds the difference since
 * the previous reading, which is right as long as readings are less than one wrap apart: the
 * firmware reads it after every inference and at every timestamp, so only an idle pause of more
 * than a wrap between two commands goes uncounted.
 */
static uint64_t cycles_total;
static uint32_t cycles_last;

static uint64_t mlperf_cycles(void) {
    uint32_t now = board_cycles();
    cycles_total += (uint32_t)(now - cycles_last);
    cycles_last = now;
    return cycles_total;
}

static void mlperf_put_lap(uint64_t cycles) {
    uint64_t hz = hil_model.clock_hz;
    /* Split so that cycles * 10^6 cannot overflow. */
    uint64_t us = cycles / hz * 1000000u + cycles % hz * 1000000u / hz;
    mlperf_put("m-lap-us-");
    mlperf_put_u64(us);
    mlperf_end_line();
}

/* ---- Command words ---- */

/* The next space-separated word from *cursor, NUL-terminated in place; NULL when none is left. */
static char *mlperf_next_word(char **cursor) {
    char *p = *cursor;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p == '\0') return NULL;
    char *word = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
    if (*p != '\0') *p++ = '\0';
    *cursor = p;
    return word;
}

/* A decimal number of at most 9 digits (so that it fits without overflow checks); -1 if `word` is not one. */
static int32_t mlperf_parse_count(const char *word) {
    int32_t value = 0;
    unsigned digits = 0;
    for (; *word != '\0'; word++, digits++) {
        if (*word < '0' || *word > '9' || digits == 9u) return -1;
        value = value * 10 + (*word - '0');
    }
    return digits == 0u ? -1 : value;
}

static int mlperf_hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* ---- db ---- */

static void mlperf_db_load(char *count_word) {
    int32_t count = count_word == NULL ? -1 : mlperf_parse_count(count_word);
    if (count <= 0) {
        mlperf_error("db load needs a byte count above 0", "");
        return;
    }
    if ((uint32_t)count > MLPERF_DB_BYTES) {
        mlperf_put("e-[db load: the input buffer holds ");
        mlperf_put_u64(MLPERF_DB_BYTES);
        mlperf_line(" bytes]");
        return;
    }
    db_expected = (uint32_t)count;
    db_received = 0;
    mlperf_put("m-[Expecting ");
    mlperf_put_u64(db_expected);
    mlperf_line(" bytes]");
}

/* Each word is checked whole before any of it is stored, so a bad word leaves the buffer as it was. */
static void mlperf_db_append(char *word, char **cursor) {
    if (db_expected == 0u) {
        mlperf_error("db load N must come first", "");
        return;
    }
    for (; word != NULL; word = mlperf_next_word(cursor)) {
        size_t length = strlen(word);
        if (length % 2u != 0u) {
            mlperf_error("Odd number of hex digits: ", word);
            return;
        }
        for (size_t i = 0; i < length; i++) {
            if (mlperf_hex_digit(word[i]) < 0) {
                mlperf_error("Invalid hex digit in ", word);
                return;
            }
        }
        if (db_received == db_expected) {
            mlperf_error("all bytes of the last db load have arrived; db load N starts again", "");
            return;
        }
        /* Digits beyond the announced count are dropped, as the reference firmware does. */
        for (size_t i = 0; i < length && db_received < db_expected; i += 2u) {
            db[db_received++] = (uint8_t)((mlperf_hex_digit(word[i]) << 4) | mlperf_hex_digit(word[i + 1u]));
        }
        if (db_received == db_expected) {
            mlperf_line("m-load-done");
        }
    }
}

static void mlperf_db(char **cursor) {
    char *word = mlperf_next_word(cursor);
    if (word == NULL) {
        mlperf_error("db needs load N or hex bytes", "");
    } else if (strcmp(word, "load") == 0) {
        mlperf_db_load(mlperf_next_word(cursor));
    } else {
        mlperf_db_append(word, cursor);
    }
}

/* ---- Inference ---- */

#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
/*
 * float -> int8 as TFLite's QUANTIZE computes it and edgec's host quantizer reproduces: x / scale
 * in float, rounded half away from zero, plus the zero point, saturated.
 */
static int8_t mlperf_quantize(float x, float scale, int32_t zero_point) {
    float v = x / scale;
    if (v != v) return 0; /* NaN has no int8 value; 0 is what the host quantizer stores */
    /* Far outside int8 either way; clamping first keeps the conversion to int defined. */
    if (v > 1024.0f) v = 1024.0f;
    if (v < -1024.0f) v = -1024.0f;
    int32_t q = (int32_t)v;
    float fraction = v - (float)q; /* exact: q is v without its fraction */
    if (fraction >= 0.5f) q++;
    if (fraction <= -0.5f) q--;
    q += zero_point;
    return (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
}
#endif

/* Turns the loaded buffer into what the model takes, once per infer command.
 * Precondition: the buffer holds MLPERF_DB_BYTES bytes. */
static void mlperf_prepare_input(void) {
#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
    const struct hil_tensor *in = &hil_model.inputs[0];
    for (uint32_t i = 0; i < MLPERF_INPUT_ELEMENTS; i++) {
        float x;
        memcpy(&x, &db[4u * i], sizeof x);
        quantized[i] = mlperf_quantize(x, in->scale, in->zero_point);
    }
#endif
}

/*
 * One inference. The input is written before every one because the model's input lives in its
 * arena, where later layers may reuse its bytes; the copy (about a byte per instruction) is timed
 * with the inference, as it is part of running one.
 * Precondition: mlperf_prepare_input() has run on a full buffer.
 */
static void mlperf_run_once(void) {
    uint8_t *input = hil_model.input(0);
#if MLPERF_INPUT_FORM == MLPERF_INPUT_RAW
    memcpy(input, db, MLPERF_DB_BYTES);
#elif MLPERF_INPUT_FORM == MLPERF_INPUT_UINT8_OFFSET
    /* pixel - 128 as int8 is the pixel with its top bit flipped. */
    for (uint32_t i = 0; i < MLPERF_DB_BYTES; i++) input[i] = (uint8_t)(db[i] ^ 0x80u);
#else
    memcpy(input, quantized, MLPERF_INPUT_ELEMENTS);
#endif
    hil_model.reset(); /* every benchmark sample stands alone */
    hil_model.invoke();
    mlperf_cycles();
}

/* Element i of an output, as a real number (quantized types through its scale and zero point). */
static float mlperf_output_value(const struct hil_tensor *t, const uint8_t *data, uint32_t i) {
    int64_t q;
    switch (t->dtype) {
    case HIL_DTYPE_FLOAT32: {
        float v;
        memcpy(&v, data + 4u * i, sizeof v);
        return v;
    }
    case HIL_DTYPE_UINT8:
        q = data[i];
        break;
    case HIL_DTYPE_INT16: {
        int16_t v;
        memcpy(&v, data + 2u * i, sizeof v);
        q = v;
        break;
    }
    case HIL_DTYPE_INT32: {
        int32_t v;
        memcpy(&v, data + 4u * i, sizeof v);
        q = v;
        break;
    }
    default: /* HIL_DTYPE_INT8 */
        q = (int8_t)data[i];
        break;
    }
    return (float)(q - t->zero_point) * t->scale;
}

static uint32_t mlperf_element_bytes(uint8_t dtype) {
    switch (dtype) {
    case HIL_DTYPE_INT16:
        return 2u;
    case HIL_DTYPE_INT32:
    case HIL_DTYPE_FLOAT32:
        return 4u;
    default:
        return 1u;
    }
}

#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
/* Mean squared difference between the outputs and the float input, as the anomaly detection
 * reference scores a sample. The outputs, all tensors in order, have as many elements as the input.
 * Precondition: an inference has just run on the floats in the buffer. */
static float mlperf_reconstruction_error(void) {
    float sum = 0.0f;
    uint32_t at = 0;
    for (uint32_t k = 0; k < hil_model.output_count; k++) {
        const struct hil_tensor *t = &hil_model.outputs[k];
        const uint8_t *data = hil_model.output((int)k);
        uint32_t count = t->bytes / mlperf_element_bytes(t->dtype);
        for (uint32_t i = 0; i < count; i++, at++) {
            float x;
            memcpy(&x, &db[4u * at], sizeof x);
            float difference = mlperf_output_value(t, data, i) - x;
            sum += difference * difference;
        }
    }
    return sum / (float)MLPERF_INPUT_ELEMENTS;
}
#endif

static void mlperf_results(void) {
    if (!have_results) {
        mlperf_error("no inference has run yet", "");
        return;
    }
    mlperf_put("m-results-[");
#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
    mlperf_put_real(reconstruction_error);
#else
    const char *separator = "";
    for (uint32_t k = 0; k < hil_model.output_count; k++) {
        const struct hil_tensor *t = &hil_model.outputs[k];
        const uint8_t *data = hil_model.output((int)k);
        uint32_t count = t->bytes / mlperf_element_bytes(t->dtype);
        for (uint32_t i = 0; i < count; i++) {
            mlperf_put(separator);
            mlperf_put_real(mlperf_output_value(t, data, i));
            separator = ",";
        }
    }
#endif
    mlperf_line("]");
}

static void mlperf_put_counted(const char *what, uint32_t n) {
    mlperf_put(what);
    mlperf_put_u64(n);
    mlperf_end_line();
}

static void mlperf_infer(char **cursor) {
    char *runs_word = mlperf_next_word(cursor);
    char *warmups_word = runs_word == NULL ? NULL : mlperf_next_word(cursor);
    int32_t runs = runs_word == NULL ? 1 : mlperf_parse_count(runs_word);
    int32_t warmups = warmups_word == NULL ? (int32_t)DEFAULT_WARMUPS : mlperf_parse_count(warmups_word);
    if (runs <= 0) {
        mlperf_error("infer N [W]: N must be a number above 0", "");
        return;
    }
    if (warmups < 0) {
        mlperf_error("infer N [W]: W must be a number, 0 or more", "");
        return;
    }
    if (db_received != MLPERF_DB_BYTES || db_expected != MLPERF_DB_BYTES) {
        mlperf_put("e-[the model takes ");
        mlperf_put_u64(MLPERF_DB_BYTES);
        mlperf_line(" input bytes: load them with db load and db first]");
        return;
    }
    mlperf_prepare_input();
    mlperf_put_counted("m-warmup-start-", (uint32_t)warmups);
    for (int32_t i = 0; i < warmups; i++) mlperf_run_once();
    mlperf_line("m-warmup-done");
    mlperf_put_counted("m-infer-start-", (uint32_t)runs);
    /* Both readings are written after the runs so that sending the first line (about 2 ms at
     * 115200 baud) is not counted as inference time. */
    uint64_t start = mlperf_cycles();
    for (int32_t i = 0; i < runs; i++) mlperf_run_once();
    uint64_t end = mlperf_cycles();
    mlperf_put_lap(start);
    mlperf_put_lap(end);
    mlperf_line("m-infer-done");
#if MLPERF_INPUT_FORM == MLPERF_INPUT_FLOAT32
    reconstruction_error = mlperf_reconstruction_error();
#endif
    have_results = 1;
    mlperf_results();
}

/* ---- Commands ---- */

static void mlperf_help(void) {
    mlperf_line("edgec MLPerf Tiny DUT for " MLPERF_MODEL ", commands end with %");
    mlperf_line("name            this device's name");
    mlperf_line("profile         firmware and benchmark network");
    mlperf_line("timestamp       microseconds since boot at the board clock");
    mlperf_line("db load N       start loading N input bytes");
    mlperf_line("db HEX...       input bytes, two hex digits each");
    mlperf_line("infer [N [W]]   W warm-up runs (10), N timed runs (1), then the results");
    mlperf_line("results         outputs of the last inference");
}

/* Reads one command up to its '%'. Returns 0 when it did not fit in the buffer (the rest of it is
 * read and dropped). */
static int mlperf_read_command(void) {
    uint32_t length = 0;
    int fits = 1;
    for (;;) {
        char c = (char)board_uart_read_byte();
        if (c == '%') break;
        if (length == COMMAND_MAX) {
            fits = 0;
        } else {
            command[length++] = c;
        }
    }
    command[length] = '\0';
    return fits;
}

static void mlperf_run_command(void) {
    char *cursor = command;
    char *word = mlperf_next_word(&cursor);
    if (word == NULL) return; /* a lone '%' is how hosts flush a half-sent command */
    if (strcmp(word, "name") == 0) {
        mlperf_line("m-name-dut-[edgec]");
    } else if (strcmp(word, "profile") == 0) {
        mlperf_line("m-profile-[ULPMark for tinyML Firmware V0.0.1]");
        mlperf_line("m-model-[" MLPERF_MODEL "]");
    } else if (strcmp(word, "help") == 0) {
        mlperf_help();
    } else if (strcmp(word, "timestamp") == 0) {
        mlperf_put_lap(mlperf_cycles());
    } else if (strcmp(word, "db") == 0) {
        mlperf_db(&cursor);
    } else if (strcmp(word, "infer") == 0) {
        mlperf_infer(&cursor);
    } else if (strcmp(word, "results") == 0) {
        mlperf_results();
    } else {
        mlperf_error("Unknown command: ", word);
    }
}

int main(void) {
    board_init();
    cycles_last = board_cycles();
    /* Over a pseudo-terminal nobody may be listening yet; hosts start with a command anyway. */
    mlperf_line("m-timestamp-mode-performance");
    mlperf_put_lap(mlperf_cycles());
    mlperf_line("m-init-done");
    mlperf_line("m-ready");
    for (;;) {
        if (mlperf_read_command()) {
            mlperf_run_command();
        } else {
            mlperf_error("command longer than 80 characters", "");
        }
        mlperf_line("m-ready");
    }
}
