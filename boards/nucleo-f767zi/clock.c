/*
 * Core clock: 216 MHz from the internal 16 MHz oscillator through the PLL, so no crystal is
 * assumed (the NUCLEO's 8 MHz comes from its ST-LINK and is absent on flight controllers).
 * APB1 runs at 54 MHz, APB2 at 108 MHz, their maxima. Above 180 MHz the regulator must be in
 * over-drive, switched on between PLL start and the clock switch (RM0410, "Entering
 * Over-drive mode"). The L1 caches go on too: without them the M7 waits on flash.
 *
 * Every wait is bounded, so a part that never reports ready stays on the 16 MHz oscillator.
 */
#include "stm32f7_regs.h"

#define HSI_HZ 16000000u
#define PLL_SYSCLK_HZ 216000000u

/* PLL input 16 MHz / M=8 = 2 MHz, VCO x N=216 = 432 MHz, /P=2 = 216 MHz core,
 * /Q=9 = 48 MHz for USB; source HSI (bit 22 clear). P=2 is encoded as 0. */
#define PLLCFGR_216MHZ_FROM_HSI ((8u << 0) | (216u << 6) | (0u << 16) | (9u << 24))

uint32_t stm32f7_apb1_hz = HSI_HZ;

/* Invalidate, then enable: after reset the caches hold garbage (ARMv7-M, cache maintenance). */
static void caches_enable(void) {
    __asm__ volatile("dsb" ::: "memory");
    SCB_ICIALLU = 0;
    SCB_CSSELR = 0; /* level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    uint32_t line_shift = (ccsidr & 7u) + 4u;
    uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
    for (uint32_t set = 0; set < sets; set++) {
        for (uint32_t way = 0; way < ways; way++) SCB_DCISW = (set << line_shift) | (way << way_shift);
    }
    __asm__ volatile("dsb" ::: "memory");
    SCB_CCR |= SCB_CCR_IC | SCB_CCR_DC;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void board_port_clock_init(void) {
    /* The M7's DWT stays locked until this key is written; without a debugger attached the
     * cycle counter would not run and board_cycles() would fall back to TIM2. */
    DWT_LAR = CORESIGHT_UNLOCK_KEY;
    caches_enable();

    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* the clock needs a bus cycle before the peripheral is written */
    RCC_PLLCFGR = PLLCFGR_216MHZ_FROM_HSI;
    RCC_CR |= RCC_CR_PLLON;

    PWR_CR1 |= PWR_CR1_ODEN;
    if (!stm32_wait_until(&PWR_CSR1, PWR_CSR1_ODRDY, PWR_CSR1_ODRDY)) return;
    PWR_CR1 |= PWR_CR1_ODSWEN;
    if (!stm32_wait_until(&PWR_CSR1, PWR_CSR1_ODSWRDY, PWR_CSR1_ODSWRDY)) return;

    /* Flash wait states must cover the new clock before the switch (7 WS at 216 MHz, 2.7-3.6 V). */
    FLASH_ACR = FLASH_ACR_LATENCY_7WS | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
    if (!stm32_wait_until(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) return;
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    if (stm32_wait_until(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL)) {
        stm32f7_apb1_hz = PLL_SYSCLK_HZ / 4u;
    }
}
