/* Build-time facts about the board that the shared Cortex-M code needs. */
#ifndef EDGEC_BOARD_CONFIG_H
#define EDGEC_BOARD_CONFIG_H

#define BOARD_IRQ_COUNT 110 /* STM32F76x/77x device interrupts */

#endif
