/*
 * Console on UART0, TX on P0.06 and RX on P0.08: the nRF52840 DK wires them to its debugger's
 * virtual COM port. 115200 8N1, no flow control, polled.
 */
#include "board.h"
#include "nrf52840_regs.h"

#define TX_PIN 6u
#define RX_PIN 8u

void board_port_uart_init(void) {
    /* TX idles high; drive it before the UART takes the pin so the receiver sees no start bit. */
    P0_OUTSET = 1u << TX_PIN;
    P0_DIRSET = 1u << TX_PIN;
    /* An unconnected RX line would otherwise float and read as noise. */
    P0_PIN_CNF(RX_PIN) = PIN_CNF_INPUT_CONNECT | PIN_CNF_PULLUP;

    UART0_PSEL_TXD = TX_PIN;
    UART0_PSEL_RXD = RX_PIN;
    UART0_PSEL_RTS = PSEL_DISCONNECTED;
    UART0_PSEL_CTS = PSEL_DISCONNECTED;
    UART0_BAUDRATE = UART_BAUDRATE_115200;
    UART0_CONFIG = 0; /* no parity, no hardware flow control */
    UART0_ENABLE = UART_ENABLE_UART;
    UART0_EVENTS_RXDRDY = 0;
    UART0_TASKS_STARTRX = 1;
    UART0_TASKS_STARTTX = 1;
}

void board_uart_write(const void *buf, unsigned len) {
    const uint8_t *p = buf;
    while (len--) {
        UART0_EVENTS_TXDRDY = 0;
        UART0_TXD = *p++;
        while (!UART0_EVENTS_TXDRDY) {}
    }
}

int board_uart_read_byte(void) {
    while (!UART0_EVENTS_RXDRDY) {}
    /* Clear the event before reading RXD: reading it moves the next byte of the receive FIFO
     * in, which raises the event again. */
    UART0_EVENTS_RXDRDY = 0;
    return (int)(UART0_RXD & 0xFFu);
}
