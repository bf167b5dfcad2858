/* Device interrupt vectors, after the core ones. The board code enables no peripheral
 * interrupt, so one arriving is a bug and is reported as a fault. */
#include "board_config.h"
#include "cortex_m.h"

__attribute__((section(".isr_vector.irq"), used))
const board_vector_fn board_irq_vectors[BOARD_IRQ_COUNT] = {
    [0 ... BOARD_IRQ_COUNT - 1] = board_fault_handler,
};
