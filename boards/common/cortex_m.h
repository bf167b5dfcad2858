/*
 * Internal to the boards/ folder: Cortex-M core registers every board shares, and the few
 * hooks a board folder supplies to the shared startup, cycle-counter and exit code.
 */
#ifndef EDGEC_CORTEX_M_H
#define EDGEC_CORTEX_M_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* System control block (ARMv7-M architecture, same address on every M3/M4/M7). */
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_HFSR_DEBUGEVT (1u << 31)
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)

/* Debug exception and monitor control, and the data watchpoint unit's cycle counter. */
#define DCB_DEMCR REG32(0xE000EDFCu)
#define DCB_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

typedef void (*board_vector_fn)(void);

/* Every exception the program does not handle itself; reports it and exits. */
void board_fault_handler(void);

/* Writes "board: <why>" to the console (once it is up) and exits with BOARD_EXIT_FAULT. */
void board_fail(const char *why) __attribute__((noreturn));

/* Supplied by each board folder. */
void board_port_clock_init(void);
void board_port_uart_init(void);
void board_port_timer_start(void);
uint32_t board_port_timer_read(void); /* counts up, wraps at 2^32 */
extern const char board_port_timer_name[];

/* Shared between the common files. */
void board_cycles_init(void);
int board_uart_is_ready(void);

#endif
