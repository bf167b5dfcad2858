/*
 * The system calls newlib-nano needs when a program links without the C start files.
 * There is no heap (every buffer edgec generates is static), no file system, and file
 * descriptors 0, 1 and 2 are the console UART. The stubs stdio needs are here even though
 * stdio cannot run, so that a program using it links and then says why it stopped.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

#include "board.h"
#include "cortex_m.h"

/* Failing loudly rather than returning NULL: newlib-nano's stdio streams (printf, puts)
 * allocate their FILE records here and, given none, write through a null pointer. */
void *_sbrk(ptrdiff_t increment) {
    (void)increment;
    board_fail("no heap: malloc, and stdio streams such as printf, are not available; "
               "format with snprintf and send with board_uart_write");
}

int _write(int fd, const char *buf, int len) {
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    board_uart_write(buf, (unsigned)len);
    return len;
}

/* Hands back one byte per call, as a terminal does: a caller asking for a whole buffer would
 * otherwise wait for input that may never come. */
int _read(int fd, char *buf, int len) {
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    if (len <= 0) return 0;
    buf[0] = (char)board_uart_read_byte();
    return 1;
}

int _close(int fd) {
    (void)fd;
    errno = EBADF;
    return -1;
}

int _fstat(int fd, struct stat *st) {
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd) { return fd >= 0 && fd <= 2; }

int _lseek(int fd, int offset, int whence) {
    (void)fd;
    (void)offset;
    (void)whence;
    errno = ESPIPE;
    return -1;
}

void _exit(int code) { board_exit(code); }

int _kill(int pid, int sig) {
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void) { return 1; }

/* Called by __libc_init_array / __libc_fini_array; there are no crti/crtn sections. */
void _init(void) {}
void _fini(void) {}
