/*
 * The fallback count behind board_cycles() where DWT CYCCNT does not run (QEMU): CMSDK
 * TIMER0, a 32-bit down-counter on the 25 MHz APB clock, reloading from 0xFFFFFFFF so its
 * complement counts up and wraps at 2^32.
 */
#include "mps2_regs.h"

const char board_port_timer_name[] = "timer0";

void board_port_timer_start(void) {
    TIMER0_CTRL = 0;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = TIMER_CTRL_EN;
}

uint32_t board_port_timer_read(void) { return ~TIMER0_VALUE; }
