/*
 * The fallback count behind board_cycles() where DWT CYCCNT does not run: TIM2, a 32-bit
 * timer, free-running from its bus clock with no prescaler; common/cycles.c calibrates it.
 */
#include "stm32f7_regs.h"

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
