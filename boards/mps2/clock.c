/* The MPS2 images have a fixed 25 MHz clock: there is nothing to configure. */
#include "mps2_regs.h"

void board_port_clock_init(void) {}
