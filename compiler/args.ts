// Command-line parsing: each verb declares its flags; anything else is a usage error (exit 2).

import { usageError } from '../src/ir/errors.ts';

export interface FlagSpec {
  /** Takes a value (`--flag value` or `--flag=value`); otherwise a switch. */
  value?: boolean;
  /** May be given more than once; values collect in order. */
  repeat?: boolean;
  /** A switch that may be followed by one of these words as its value (`--hil` or `--hil mlperf-tiny`). */
  optionalValues?: readonly string[];
  help: string;
}

export interface VerbSpec {
  summary: string;
  usage: string;
  positionals: [min: number, max: number];
  flags: Record<string, FlagSpec>;
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string[]>;
  switches: Set<string>;
}

export function parseArgs(verb: string, spec: VerbSpec, argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // `--name`, `--name=value`, or a one-letter `-x` for flags whose name is one letter.
    const short = /^-[A-Za-z]$/.test(arg);
    if ((!arg.startsWith('--') && !short) || arg === '--') {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = short ? -1 : arg.indexOf('=');
    const name = short ? arg.slice(1) : arg.slice(2, eq < 0 ? undefined : eq);
    const flag = spec.flags[name];
    if (!flag) throw usageError(`edgec ${verb}: unknown option ${arg.split('=')[0]}\nusage: ${spec.usage}`);
    if (flag.optionalValues) {
      const value = eq >= 0 ? arg.slice(eq + 1) : flag.optionalValues.includes(argv[i + 1]) ? argv[++i] : undefined;
      if (value !== undefined && !flag.optionalValues.includes(value)) {
        throw usageError(`edgec ${verb}: --${name} takes ${flag.optionalValues.join(' or ')}, not '${value}'`);
      }
      parsed.switches.add(name);
      if (value !== undefined) parsed.values.set(name, [value]);
      continue;
    }
    if (!flag.value) {
      if (eq >= 0) throw usageError(`edgec ${verb}: --${name} takes no value`);
      parsed.switches.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw usageError(`edgec ${verb}: --${name} needs a value\nusage: ${spec.usage}`);
    const list = parsed.values.get(name) ?? [];
    if (list.length > 0 && !flag.repeat) throw usageError(`edgec ${verb}: --${name} given twice`);
    list.push(value);
    parsed.values.set(name, list);
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw usageError(`edgec ${verb}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}\nusage: ${spec.usage}`);
  }
  return parsed;
}

export function helpText(spec: VerbSpec): string {
  const lines = [`usage: ${spec.usage}`, '', spec.summary, ''];
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = flag.optionalValues ? ` [${flag.optionalValues.join('|')}]` : flag.value ? ' <value>' : '';
    lines.push(`  ${name.length === 1 ? '-' : '--'}${name}${value}`.padEnd(28) + flag.help);
  }
  return lines.join('\n');
}
