// Flashing through the STM32 ROM bootloader (ST AN3155, USART).

export { checkFlashable, flashImage } from './flash.ts';
export type { FlashOptions, FlashProgress, FlashReport } from './flash.ts';
export { DEFAULT_BOARD, loadFlashImage } from './image.ts';
export type { FlashImage } from './image.ts';
