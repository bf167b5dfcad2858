// Which of the tools a test needs this machine lacks: the reason a test reports itself skipped.

import { findTool, type ToolName } from '../../src/toolchain/index.ts';

/** findTool's message for the first tool missing, or null when every one is there. */
export function missingTool(...tools: ToolName[]): string | null {
  for (const tool of tools) {
    try {
      findTool(tool);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return null;
}
