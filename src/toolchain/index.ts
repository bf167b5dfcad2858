// Finding and running the external tools edgec depends on: the Arm cross-compiler, QEMU,
// host compilers. Board descriptors live here too because every tool invocation needs one.

export { findTool } from './tools.ts';
export type { ToolName } from './tools.ts';
export { runTool } from './exec.ts';
export type { ToolOutput } from './exec.ts';
export {
  BOARD_EXIT_FAULT,
  boardIncludeDirs,
  boardLinkerScript,
  boardSources,
  boardsDir,
  commonDir,
  coveredSectors,
  linkerRegions,
  listBoards,
  loadBoard,
  useBoardDirs,
  MIN_STACK_BYTES,
} from './board.ts';
export type { Board, Cpu, FlashMethod, FloatAbi, Fpu, MemoryRegion, NamedRegion } from './board.ts';
export { armGccFlags } from './flags.ts';
export { buildFirmware } from './build.ts';
export type { BuildOptions, Firmware } from './build.ts';
export { parseSizeOutput } from './size.ts';
export type { FirmwareSize } from './size.ts';
export { parseStackUsage } from './stack.ts';
export type { StackFrame } from './stack.ts';
export { qemuArgs, qemuMachine, runQemu, startQemu } from './qemu.ts';
export type { QemuExit, QemuOptions, QemuRun, QemuSession, RunQemuOptions } from './qemu.ts';
