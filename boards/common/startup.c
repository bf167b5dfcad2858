/*
 * Reset entry and core exception vectors shared by every Cortex-M3/M4/M7 board. The board
 * folder adds its own device interrupt vectors in section .isr_vector.irq, which the linker
 * script places right after these.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
extern int main(void);
extern void __libc_init_array(void);

void Reset_Handler(void) __attribute__((noreturn));

__attribute__((section(".isr_vector.core"), used))
const board_vector_fn board_core_vectors[16] = {
    (board_vector_fn)_estack, /* initial main stack pointer */
    Reset_Handler,
    /* The board code enables no interrupt and uses no SVC, PendSV or SysTick, so every
     * other exception is a fault or a bug, reported the same way. */
    board_fault_handler, /* NMI */
    board_fault_handler, /* HardFault */
    board_fault_handler, /* MemManage */
    board_fault_handler, /* BusFault */
    board_fault_handler, /* UsageFault */
    0, 0, 0, 0,
    board_fault_handler, /* SVCall */
    board_fault_handler, /* DebugMonitor */
    0,
    board_fault_handler, /* PendSV */
    board_fault_handler, /* SysTick */
};

/* general-regs-only: the FPU is off until the first lines below, so the compiler must not
 * use a floating-point register in this function (for example to move .data in blocks). */
__attribute__((target("general-regs-only"))) void Reset_Handler(void) {
    SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    /* A bootloader may have jumped here with its own table installed. */
    SCB_VTOR = (uint32_t)(uintptr_t)board_core_vectors;

    uint32_t *src = _sidata;
    for (uint32_t *dst = _sdata; dst < _edata;) *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;) *dst++ = 0;

    __libc_init_array();
    board_exit(main());
}

static int uart_ready;

void board_init(void) {
    board_port_clock_init();
    board_port_uart_init();
    uart_ready = 1;
    board_cycles_init();
}

int board_uart_is_ready(void) { return uart_ready; }
