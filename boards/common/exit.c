/*
 * Ending a program: a semihosting exit for QEMU (and a debugger that supports it), and the
 * report a fault or unexpected exception leaves on the console before it ends the program.
 */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

#define SEMIHOSTING_SYS_EXIT_EXTENDED 0x20u
#define SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define THUMB_BKPT_SEMIHOSTING 0xBEABu

static void __attribute__((noreturn)) halt(void) {
    __asm__ volatile("cpsid i" ::: "memory");
    for (;;) __asm__ volatile("wfi");
}

void board_exit(int code) {
    uint32_t block[2] = {SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    register uint32_t op __asm__("r0") = SEMIHOSTING_SYS_EXIT_EXTENDED;
    register uint32_t *arg __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(op) : "r"(arg) : "memory");
    /* Only reached if a debugger resumed the core instead of ending the session. */
    halt();
}

static void put_text(const char *s) {
    unsigned n = 0;
    while (s[n]) n++;
    board_uart_write(s, n);
}

static void put_hex(uint32_t v) {
    char text[10] = {'0', 'x'};
    for (int i = 0; i < 8; i++) text[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
    board_uart_write(text, sizeof text);
}

void board_fail(const char *why) {
    if (board_uart_is_ready()) {
        put_text("\nboard: ");
        put_text(why);
        put_text("\n");
    }
    board_exit(BOARD_EXIT_FAULT);
}

/* frame: the registers the core stacked on exception entry (r0-r3, r12, lr, pc, xpsr). */
static void __attribute__((used, noreturn)) fault_report(const uint32_t *frame) {
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    uint32_t pc = frame[6];
    /* A semihosting BKPT with no debugger attached escalates to HardFault: that is
     * board_exit() on silicon, so the program has ended rather than crashed. */
    if (ipsr == 3u && (SCB_HFSR & SCB_HFSR_DEBUGEVT) &&
        *(const volatile uint16_t *)(uintptr_t)pc == THUMB_BKPT_SEMIHOSTING) {
        halt();
    }
    if (board_uart_is_ready()) {
        put_text("\nboard: fault: exception ");
        put_hex(ipsr);
        put_text(" pc ");
        put_hex(pc);
        put_text(" lr ");
        put_hex(frame[5]);
        put_text(" hfsr ");
        put_hex(SCB_HFSR);
        put_text(" cfsr ");
        put_hex(SCB_CFSR);
        put_text("\n");
    }
    board_exit(BOARD_EXIT_FAULT);
}

/* Naked so the stacked frame is found before the compiler touches the stack: bit 2 of the
 * exception return value says whether the main or the process stack was in use. */
__attribute__((naked)) void board_fault_handler(void) {
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b fault_report\n\t");
}
