/*
 * The fallback count behind board_cycles() where DWT CYCCNT does not run: TIMER1, 32-bit,
 * at 16 MHz (prescaler 0). Its count is read by capturing it into CC[0]. common/cycles.c
 * calibrates it against executed instructions.
 */
#include "nrf52840_regs.h"

const char board_port_timer_name[] = "timer1";

void board_port_timer_start(void) {
    TIMER1_TASKS_STOP = 1;
    TIMER1_MODE = TIMER_MODE_TIMER;
    TIMER1_BITMODE = TIMER_BITMODE_32;
    TIMER1_PRESCALER = 0;
    TIMER1_TASKS_CLEAR = 1;
    TIMER1_TASKS_START = 1;
}

uint32_t board_port_timer_read(void) {
    TIMER1_TASKS_CAPTURE0 = 1;
    return TIMER1_CC0;
}
