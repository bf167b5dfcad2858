/*
 * board_cycles(): the DWT cycle counter where it runs (silicon), otherwise the board's
 * free-running timer scaled to executed instructions. The scale is measured, not assumed,
 * because an emulator's timer clock is a model choice that changes between versions.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

#define CALIBRATION_ITERATIONS 50000u
#define INSTRUCTIONS_PER_SPIN 2u

enum source { SOURCE_NONE, SOURCE_DWT, SOURCE_TIMER };

static enum source source;
static uint32_t last_ticks;
static uint64_t total_ticks;
static uint32_t instructions_per_tick_q16;

/* Executes exactly INSTRUCTIONS_PER_SPIN instructions per iteration; n must be at least 1. */
static void spin(uint32_t n) {
    __asm__ volatile(
        "1: subs %0, %0, #1\n\t"
        "bne 1b"
        : "+r"(n)
        :
        : "cc");
}

static int dwt_counts(void) {
    DCB_DEMCR |= DCB_DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    uint32_t before = DWT_CYCCNT;
    spin(16);
    return DWT_CYCCNT != before;
}

/* noinline: both calibration calls must run the very same instructions around the loop,
 * or their fixed costs differ and do not cancel. */
static __attribute__((noinline)) uint32_t timer_ticks_for(uint32_t iterations) {
    uint32_t start = board_port_timer_read();
    spin(iterations);
    return board_port_timer_read() - start;
}

/* round(a * 2^16 / b) in 32-bit arithmetic, by long division: a 64-bit division would link the
 * C library's (about 700 bytes) into every firmware for this one use. b in [1, 2^31). */
static uint32_t q16_ratio(uint32_t a, uint32_t b) {
    uint32_t quotient = a / b;
    uint32_t remainder = a % b;
    for (int bit = 0; bit < 16; bit++) {
        remainder <<= 1;
        quotient <<= 1;
        if (remainder >= b) {
            remainder -= b;
            quotient |= 1u;
        }
    }
    return quotient + (remainder >= b - remainder ? 1u : 0u);
}

void board_cycles_init(void) {
    if (dwt_counts()) {
        source = SOURCE_DWT;
        return;
    }
    board_port_timer_start();
    /* Timing N and 2N iterations and subtracting cancels the fixed cost of the reads. */
    uint32_t once = timer_ticks_for(CALIBRATION_ITERATIONS);
    uint32_t twice = timer_ticks_for(2u * CALIBRATION_ITERATIONS);
    if (twice <= once) { /* the timer does not run */
        source = SOURCE_NONE;
        return;
    }
    instructions_per_tick_q16 = q16_ratio(INSTRUCTIONS_PER_SPIN * CALIBRATION_ITERATIONS, twice - once);
    last_ticks = board_port_timer_read();
    total_ticks = 0;
    source = SOURCE_TIMER;
}

uint32_t board_cycles(void) {
    switch (source) {
    case SOURCE_DWT:
        return DWT_CYCCNT;
    case SOURCE_TIMER: {
        /* Accumulating in 64 bits keeps differences of the scaled count exact across the
         * timer's wrap, which scaling the raw 32-bit value would not. */
        uint32_t now = board_port_timer_read();
        total_ticks += (uint32_t)(now - last_ticks);
        last_ticks = now;
        return (uint32_t)((total_ticks * instructions_per_tick_q16) >> 16);
    }
    default:
        return 0;
    }
}

const char *board_cycles_source(void) {
    switch (source) {
    case SOURCE_DWT:
        return "dwt-cycles";
    case SOURCE_TIMER:
        return board_port_timer_name;
    default:
        return "none";
    }
}
