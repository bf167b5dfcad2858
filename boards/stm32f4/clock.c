/*
 * Core clock: 168 MHz from the internal 16 MHz oscillator through the PLL, so the board runs
 * at full speed whatever crystal (if any) it carries. APB1 runs at 42 MHz, APB2 at 84 MHz.
 *
 * Every wait is bounded: QEMU's netduinoplus2 does not model the RCC (reads return 0), so
 * the PLL never reports lock there and the core stays on the 16 MHz oscillator.
 */
#include "stm32f4_regs.h"

#define HSI_HZ 16000000u
#define PLL_SYSCLK_HZ 168000000u

/* PLL input 16 MHz / M=8 = 2 MHz, VCO x N=168 = 336 MHz, /P=2 = 168 MHz core,
 * /Q=7 = 48 MHz for USB; source HSI (bit 22 clear). P=2 is encoded as 0. */
#define PLLCFGR_168MHZ_FROM_HSI ((8u << 0) | (168u << 6) | (0u << 16) | (7u << 24))

uint32_t stm32f4_apb2_hz = HSI_HZ;

void board_port_clock_init(void) {
    RCC_PLLCFGR = PLLCFGR_168MHZ_FROM_HSI;
    RCC_CR |= RCC_CR_PLLON;
    if (!stm32_wait_until(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) return;

    /* Flash wait states must cover the new clock before the switch (5 WS at 168 MHz, 3.3 V). */
    FLASH_ACR = FLASH_ACR_LATENCY_5WS | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    if (stm32_wait_until(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL)) {
        stm32f4_apb2_hz = PLL_SYSCLK_HZ / 2u;
    }
}
