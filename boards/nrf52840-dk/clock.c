/*
 * The core always runs at 64 MHz; what can be chosen is the source of the high-frequency
 * clock the peripherals use. The internal RC oscillator drifts by a few percent, too much for
 * a UART at 115200 baud, so the 32 MHz crystal is started. The wait is bounded: a board
 * without the crystal keeps the RC oscillator.
 */
#include "nrf52840_regs.h"

#define WAIT_LIMIT 100000u

void board_port_clock_init(void) {
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    for (uint32_t i = 0; i < WAIT_LIMIT && !CLOCK_EVENTS_HFCLKSTARTED; i++) {}
}
