/*
 * Console on CMSDK APB UART0, 115200 8N1, polled.
 */
#include "board.h"
#include "mps2_regs.h"

#define CONSOLE_BAUD 115200u

void board_port_uart_init(void) {
    /* The divider must be at least 16 or the UART (and QEMU's model of it) will not run. */
    UART0_BAUDDIV = MPS2_SYSCLK_HZ / CONSOLE_BAUD;
    UART0_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN;
}

void board_uart_write(const void *buf, unsigned len) {
    const uint8_t *p = buf;
    while (len--) {
        while (UART0_STATE & UART_STATE_TX_FULL) {}
        UART0_DATA = *p++;
    }
}

int board_uart_read_byte(void) {
    while (!(UART0_STATE & UART_STATE_RX_FULL)) {}
    return (int)(UART0_DATA & 0xFFu);
}
