/*
 * Arm MPS2 peripherals these boards use: CMSDK APB UART0 and TIMER0, at the same addresses in
 * the AN386 (Cortex-M4) and AN500 (Cortex-M7) images (addresses and bit positions from the
 * AN386/AN500 and Cortex-M System Design Kit documentation).
 */
#ifndef EDGEC_MPS2_REGS_H
#define EDGEC_MPS2_REGS_H

#include "../common/cortex_m.h"

/* The FPGA image clocks the core and the APB peripherals from one 25 MHz clock. */
#define MPS2_SYSCLK_HZ 25000000u

#define UART0_BASE 0x40004000u
#define UART0_DATA REG32(UART0_BASE + 0x00u)
#define UART0_STATE REG32(UART0_BASE + 0x04u)
#define UART0_CTRL REG32(UART0_BASE + 0x08u)
#define UART0_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)

#define TIMER0_BASE 0x40000000u
#define TIMER0_CTRL REG32(TIMER0_BASE + 0x00u)
#define TIMER0_VALUE REG32(TIMER0_BASE + 0x04u)
#define TIMER0_RELOAD REG32(TIMER0_BASE + 0x08u)
#define TIMER_CTRL_EN (1u << 0)

#endif
