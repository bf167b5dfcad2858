/*
 * STM32F405/407 peripheral registers this board folder uses (addresses and bit positions
 * from the reference manual, RM0090), and the clock the other files derive rates from.
 */
#ifndef EDGEC_STM32F4_REGS_H
#define EDGEC_STM32F4_REGS_H

#include <stdint.h>

#include "stm32.h"

#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_APB2ENR_USART1EN (1u << 4)

#define FLASH_ACR_LATENCY_5WS (5u << 0)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG32(GPIOA_BASE + 0x00u)
#define GPIOA_PUPDR REG32(GPIOA_BASE + 0x0Cu)
#define GPIOA_AFRH REG32(GPIOA_BASE + 0x24u)

#define USART1_BASE 0x40011000u
#define USART1_SR REG32(USART1_BASE + 0x00u)
#define USART1_DR REG32(USART1_BASE + 0x04u)
#define USART1_BRR REG32(USART1_BASE + 0x08u)
#define USART1_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* The APB2 bus clock USART1 runs from, as set by board_port_clock_init(). */
extern uint32_t stm32f4_apb2_hz;

#endif
