// Locating the external programs edgec drives. A missing one is the most common first-run
// problem, so the error names the Debian package that provides it.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EdgecError } from '../ir/errors.ts';

export type ToolName =
  | 'arm-none-eabi-gcc'
  | 'arm-none-eabi-size'
  | 'arm-none-eabi-objcopy'
  | 'arm-none-eabi-objdump'
  | 'qemu-system-arm'
  | 'cc'
  | 'emcc'
  | 'cmake';

interface ToolSpec {
  /** What the tool is for, as the error message says it. */
  purpose: string;
  /** Command names tried in order on PATH. */
  commands: string[];
  /** Where a distribution installs it when PATH does not include that directory. */
  fixedPaths?: string[];
  install: string;
}

const TOOLS: Record<ToolName, ToolSpec> = {
  'arm-none-eabi-gcc': {
    purpose: 'the Arm cross-compiler that builds firmware',
    commands: ['arm-none-eabi-gcc'],
    install: 'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  },
  'arm-none-eabi-size': {
    purpose: 'the Arm size tool that reports firmware flash and RAM use',
    commands: ['arm-none-eabi-size'],
    install: 'apt-get install binutils-arm-none-eabi',
  },
  'arm-none-eabi-objcopy': {
    purpose: 'the Arm objcopy that turns firmware ELF files into flashable .bin images',
    commands: ['arm-none-eabi-objcopy'],
    install: 'apt-get install binutils-arm-none-eabi',
  },
  'arm-none-eabi-objdump': {
    purpose: 'the Arm objdump that lists where firmware symbols are placed',
    commands: ['arm-none-eabi-objdump'],
    install: 'apt-get install binutils-arm-none-eabi',
  },
  'qemu-system-arm': {
    purpose: 'QEMU, which runs firmware without a board',
    commands: ['qemu-system-arm'],
    install: 'apt-get install qemu-system-arm',
  },
  cc: {
    purpose: 'a host C compiler',
    commands: ['cc', 'gcc', 'clang'],
    install: 'apt-get install gcc',
  },
  emcc: {
    purpose: 'the Emscripten compiler that builds the C kernels to WebAssembly',
    commands: ['emcc'],
    fixedPaths: ['/usr/bin/emcc'],
    install: 'apt-get install emscripten',
  },
  cmake: {
    purpose: 'CMake, which builds firmware projects that take an edgec library',
    commands: ['cmake'],
    install: 'apt-get install cmake',
  },
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of a tool, found on `searchPath` (a PATH-style list); throws an
 * EdgecError of kind 'tool' naming the package to install when it is not there.
 */
export function findTool(tool: ToolName, searchPath: string = process.env.PATH ?? ''): string {
  const spec = TOOLS[tool];
  const dirs = searchPath.split(delimiter).filter((d) => d !== '');
  for (const command of spec.commands) {
    for (const dir of dirs) {
      const candidate = join(dir, command);
      if (isExecutable(candidate)) return candidate;
    }
  }
  const fixed = spec.fixedPaths?.find(isExecutable);
  if (fixed !== undefined) return fixed;
  throw new EdgecError(
    'tool',
    `${spec.commands.join(' / ')} not found on PATH: edgec needs ${spec.purpose}. ` +
      `Install it with: ${spec.install}`,
  );
}
