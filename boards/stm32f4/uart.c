/*
 * Console on USART1, TX on PA9 and RX on PA10 (alternate function 7), 115200 8N1, polled.
 */
#include "board.h"
#include "stm32f4_regs.h"

#define CONSOLE_BAUD 115200u
#define PA9_PA10_MODE_MASK (0xFu << 18)
#define PA9_PA10_MODE_AF (0xAu << 18)
#define PA9_PA10_AF_MASK (0xFFu << 4)
#define PA9_PA10_AF7 (0x77u << 4)
#define PA10_PUPD_MASK (3u << 20)
#define PA10_PULL_UP (1u << 20)

void board_port_uart_init(void) {
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    (void)RCC_APB2ENR; /* the clock needs a bus cycle before the peripheral is written */

    GPIOA_MODER = (GPIOA_MODER & ~PA9_PA10_MODE_MASK) | PA9_PA10_MODE_AF;
    GPIOA_AFRH = (GPIOA_AFRH & ~PA9_PA10_AF_MASK) | PA9_PA10_AF7;
    /* An unconnected RX line would otherwise float and read as noise. */
    GPIOA_PUPDR = (GPIOA_PUPDR & ~PA10_PUPD_MASK) | PA10_PULL_UP;

    /* With 16x oversampling BRR holds the bus clock / baud as a 12.4 fixed-point value. */
    USART1_BRR = (stm32f4_apb2_hz + CONSOLE_BAUD / 2u) / CONSOLE_BAUD;
    /* RE matters even for a write-only program: QEMU drops received bytes without it. */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void board_uart_write(const void *buf, unsigned len) {
    const uint8_t *p = buf;
    while (len--) {
        while (!(USART1_SR & USART_SR_TXE)) {}
        USART1_DR = *p++;
    }
}

int board_uart_read_byte(void) {
    /* Reading SR then DR also clears an overrun, which would otherwise stall reception. */
    while (!(USART1_SR & USART_SR_RXNE)) {}
    return (int)(USART1_DR & 0xFFu);
}
