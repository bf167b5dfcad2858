/*
 * What the STM32F4 and STM32F7 boards share, at the same addresses on both (reference manuals
 * RM0090 and RM0410): the reset and clock controller's PLL registers, TIM2, the flash interface,
 * and a bounded wait on a status bit.
 */
#ifndef EDGEC_STM32_H
#define EDGEC_STM32_H

#include <stdint.h>

#include "../common/cortex_m.h"

#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_PLL (2u << 0)
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_PPRE1_DIV4 (5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (4u << 13)
#define RCC_APB1ENR_TIM2EN (1u << 0)

#define FLASH_ACR REG32(0x40023C00u)
#define FLASH_ACR_PRFTEN (1u << 8)

#define TIM2_BASE 0x40000000u
#define TIM2_CR1 REG32(TIM2_BASE + 0x00u)
#define TIM2_EGR REG32(TIM2_BASE + 0x14u)
#define TIM2_CNT REG32(TIM2_BASE + 0x24u)
#define TIM2_PSC REG32(TIM2_BASE + 0x28u)
#define TIM2_ARR REG32(TIM2_BASE + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* Polls until (*reg & mask) == value, a bounded number of times, so a part (or an emulator) that
 * never reports ready cannot hang the board: 1 when it came, 0 when not. */
int stm32_wait_until(volatile uint32_t *reg, uint32_t mask, uint32_t value);

#endif
