/* Build-time facts about the board that the shared Cortex-M code needs. */
#ifndef EDGEC_BOARD_CONFIG_H
#define EDGEC_BOARD_CONFIG_H

#define BOARD_IRQ_COUNT 48 /* nRF52840 peripheral interrupts */

#endif
