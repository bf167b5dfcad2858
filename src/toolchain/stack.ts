// Reading gcc's -fstack-usage reports (.su files): one line per function,
// "<file>:<line>:<column>:<function>\t<bytes>\t<static|dynamic|dynamic,bounded>".

export interface StackFrame {
  function: string;
  /** Where the function is defined, as "<file>:<line>". */
  location: string;
  bytes: number;
  /** 'static': exactly `bytes`; 'dynamic': more at run time (alloca, VLAs); 'bounded': at most `bytes`. */
  kind: 'static' | 'dynamic' | 'bounded';
}

export function parseStackUsage(text: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*):(\d+):\d+:(.+)\t(\d+)\t(static|dynamic,bounded|dynamic)$/.exec(line.trim());
    if (m === null) continue;
    const kind = m[5] === 'dynamic,bounded' ? 'bounded' : (m[5] as 'static' | 'dynamic');
    frames.push({ function: m[3], location: `${m[1]}:${m[2]}`, bytes: Number(m[4]), kind });
  }
  return frames;
}
