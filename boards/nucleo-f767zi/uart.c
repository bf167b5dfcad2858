/*
 * Console on USART3, TX on PD8 and RX on PD9 (alternate function 7): the NUCLEO-F767ZI wires
 * them to its ST-LINK's virtual COM port. 115200 8N1, polled.
 */
#include "board.h"
#include "stm32f7_regs.h"

#define CONSOLE_BAUD 115200u
#define PD8_PD9_MODE_MASK (0xFu << 16)
#define PD8_PD9_MODE_AF (0xAu << 16)
#define PD8_PD9_AF_MASK (0xFFu << 0)
#define PD8_PD9_AF7 (0x77u << 0)
#define PD9_PUPD_MASK (3u << 18)
#define PD9_PULL_UP (1u << 18)

void board_port_uart_init(void) {
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
    (void)RCC_APB1ENR;

    GPIOD_MODER = (GPIOD_MODER & ~PD8_PD9_MODE_MASK) | PD8_PD9_MODE_AF;
    GPIOD_AFRH = (GPIOD_AFRH & ~PD8_PD9_AF_MASK) | PD8_PD9_AF7;
    /* An unconnected RX line would otherwise float and read as noise. */
    GPIOD_PUPDR = (GPIOD_PUPDR & ~PD9_PUPD_MASK) | PD9_PULL_UP;

    /* With 16x oversampling BRR is the bus clock / baud. */
    USART3_BRR = (stm32f7_apb1_hz + CONSOLE_BAUD / 2u) / CONSOLE_BAUD;
    /* This USART does not clear an overrun by reading RDR, and a set overrun flag stops
     * reception: with detection off, a late byte is lost instead of everything after it. */
    USART3_CR3 = USART_CR3_OVRDIS;
    USART3_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void board_uart_write(const void *buf, unsigned len) {
    const uint8_t *p = buf;
    while (len--) {
        while (!(USART3_ISR & USART_ISR_TXE)) {}
        USART3_TDR = *p++;
    }
}

int board_uart_read_byte(void) {
    while (!(USART3_ISR & USART_ISR_RXNE)) {}
    return (int)(USART3_RDR & 0xFFu);
}
