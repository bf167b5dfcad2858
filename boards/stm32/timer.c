/*
 * The fallback count behind board_cycles() of the STM32F4 and F7 boards where DWT CYCCNT does
 * not run (QEMU): TIM2, a 32-bit timer, free-running from its bus clock with no prescaler. Under
 * QEMU -icount each executed instruction advances it by a fixed amount, which common/cycles.c
 * calibrates.
 */
#include "stm32.h"

const char board_port_timer_name[] = "tim2";

void board_port_timer_start(void) {
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    (void)RCC_APB1ENR;
    TIM2_CR1 = 0;
    TIM2_PSC = 0;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = TIM_EGR_UG; /* load the prescaler now rather than at the first overflow */
    TIM2_CNT = 0;
    TIM2_CR1 = TIM_CR1_CEN;
}

uint32_t board_port_timer_read(void) { return TIM2_CNT; }
