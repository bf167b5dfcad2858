#include "stm32.h"

#define WAIT_LIMIT 100000u

int stm32_wait_until(volatile uint32_t *reg, uint32_t mask, uint32_t value) {
    for (uint32_t i = 0; i < WAIT_LIMIT; i++) {
        if ((*reg & mask) == value) return 1;
    }
    return 0;
}
