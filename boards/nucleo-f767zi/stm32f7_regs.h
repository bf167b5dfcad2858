/*
 * STM32F76x/77x peripheral registers this board folder uses (addresses and bit positions from
 * the reference manual, RM0410), the Cortex-M7 cache and CoreSight registers, and the clock the
 * other files derive rates from.
 */
#ifndef EDGEC_STM32F7_REGS_H
#define EDGEC_STM32F7_REGS_H

#include <stdint.h>

#include "stm32.h"

#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_CR1 REG32(0x40007000u)
#define PWR_CSR1 REG32(0x40007004u)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)

#define FLASH_ACR_LATENCY_7WS (7u << 0)
#define FLASH_ACR_ARTEN (1u << 9)

#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER REG32(GPIOD_BASE + 0x00u)
#define GPIOD_PUPDR REG32(GPIOD_BASE + 0x0Cu)
#define GPIOD_AFRH REG32(GPIOD_BASE + 0x24u)

/* The F7's USART has separate status, clear, receive and transmit registers (unlike the F4's). */
#define USART3_BASE 0x40004800u
#define USART3_CR1 REG32(USART3_BASE + 0x00u)
#define USART3_CR3 REG32(USART3_BASE + 0x08u)
#define USART3_BRR REG32(USART3_BASE + 0x0Cu)
#define USART3_ISR REG32(USART3_BASE + 0x1Cu)
#define USART3_RDR REG32(USART3_BASE + 0x24u)
#define USART3_TDR REG32(USART3_BASE + 0x28u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR3_OVRDIS (1u << 12)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TXE (1u << 7)

/* Cortex-M7 L1 caches (ARMv7-M cache maintenance registers) and the DWT's CoreSight lock. */
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)
#define DWT_LAR REG32(0xE0001FB0u)
#define CORESIGHT_UNLOCK_KEY 0xC5ACCE55u

/* The APB1 bus clock USART3 runs from, as set by board_port_clock_init(). */
extern uint32_t stm32f7_apb1_hz;

#endif
