/*
 * The board API that generated model code and the HIL agent are written against.
 * Each board folder implements it at register level; nothing here depends on a vendor header.
 *
 * A program's main() calls board_init() first. Returning from main() ends the program with
 * main's return value as the exit code, exactly as board_exit() does.
 */
#ifndef EDGEC_BOARD_H
#define EDGEC_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit code the board reports when the CPU takes a fault or an unexpected exception. It is
 * distinct from small codes a program picks itself so a host can tell a crash from a result. */
#define BOARD_EXIT_FAULT 127

/* Clocks, console UART and cycle counter. Must run before any other board_ call. */
void board_init(void);

/* Sends len bytes over the console UART, blocking until the last one is handed to it. The
 * bytes go out unchanged (no newline translation), so binary protocols can use it. */
void board_uart_write(const void *buf, unsigned len);

/* Waits for the next byte from the console UART and returns it (0..255). */
int board_uart_read_byte(void);

/* A free-running 32-bit count that wraps; subtract two readings (unsigned) to time code.
 * On silicon it is the core's cycle counter (DWT CYCCNT). Where that counter does not run
 * (QEMU), it is a board timer scaled, by a calibration at board_init(), to executed
 * instructions; under QEMU -icount runs this count is deterministic. */
uint32_t board_cycles(void);

/* What board_cycles() counts: "dwt-cycles", or the name of the calibrated fallback timer. */
const char *board_cycles_source(void);

/* Ends the program with an exit code. Under QEMU (semihosting enabled) the emulator exits
 * with that code; on silicon without a debugger the core stops in a low-power wait. */
void board_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
