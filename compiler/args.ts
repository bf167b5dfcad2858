// Command-line parsing on commander: each verb declares its flags (with the values they accept);
// commander reads the command line (`--flag value`, `--flag=value`, `-o dir`, `--` ending the
// options) and anything it refuses is a usage error (exit 2) that names the verb and its usage.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { usageError } from '../src/ir/errors.ts';

export interface FlagSpec {
  /** Takes a value (`--flag value` or `--flag=value`); otherwise a switch. */
  value?: boolean;
  /** May be given more than once; values collect in order. */
  repeat?: boolean;
  /** The only values it accepts: the parser refuses anything else. */
  choices?: readonly string[];
  /**
   * A switch that may be followed by one of these words as its value (`--hil` or `--hil mlperf-tiny`);
   * a word that is none of them is not taken, so it stays a positional argument.
   */
  optionalValues?: readonly string[];
  /** A switch that may be followed by a file name ending in this extension as its value (`--json` or `--json out.json`). */
  optionalFile?: string;
  help: string;
}

export interface VerbSpec {
  summary: string;
  usage: string;
  positionals: [min: number, max: number];
  flags: Record<string, FlagSpec>;
  /** Command lines shown under --help, each with what it does. */
  examples?: [command: string, what: string][];
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string[]>;
  switches: Set<string>;
}

/** Flags of the verbs that name a board. */
export const BOARD_DIR_FLAG: FlagSpec = {
  value: true,
  repeat: true,
  help: "a folder of your own board folders (<folder>/<name>/board.json, see docs/boards.md), looked in before edgec's boards/",
};

/** --json on the verbs that print results: the JSON alone on stdout (progress stays on stderr). */
export const JSON_FLAG: FlagSpec = { help: 'print the results as JSON on stdout instead of text (progress stays on stderr)' };

/** Flags every verb takes. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  quiet: { help: 'print no progress, only results and errors' },
};

/**
 * Switches with optional values, taken out before commander reads the rest: commander would take
 * any next word as the value, where these take it only when it is one of theirs.
 */
function takeOptionalValues(spec: VerbSpec, argv: string[], usage: (message: string) => Error): { rest: string[]; taken: Map<string, string[]> } {
  const rest: string[] = [];
  const taken = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { rest: [...rest, ...argv.slice(i)], taken };
    const [name, inline] = arg.startsWith('--') ? [arg.slice(2).split('=')[0], arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : undefined] : [''];
    const flag = spec.flags[name];
    if (!flag?.optionalValues && !flag?.optionalFile) {
      rest.push(arg);
      continue;
    }
    const { optionalValues: words, optionalFile: extension } = flag;
    const accepts = (word: string | undefined) => word !== undefined && (words ? words.includes(word) : word.endsWith(extension!));
    const value = inline ?? (accepts(argv[i + 1]) ? argv[++i] : undefined);
    if (value !== undefined && words && !words.includes(value)) throw usage(`--${name} takes ${words.join(' or ')}, not '${value}'`);
    if (value === '') throw usage(`--${name}= needs a file name`);
    if (taken.has(name)) throw usage(`--${name} given twice`);
    taken.set(name, value === undefined ? [] : [value]);
  }
  return { rest, taken };
}

/** Values collect in a list (so that a flag given twice can be told from one given once), each checked against the choices. */
function option(name: string, flag: FlagSpec): Option {
  const dashes = name.length === 1 ? '-' : '--';
  if (!flag.value) return new Option(`${dashes}${name}`, flag.help);
  const { choices } = flag;
  return new Option(`${dashes}${name} <value>`, flag.help).argParser((value: string, previous: string[] | undefined) => {
    if (value === '') throw new InvalidArgumentError('it needs a value');
    if (choices && !choices.includes(value)) throw new InvalidArgumentError(`choose one of ${choices.join(', ')}`);
    return [...(previous ?? []), value];
  });
}

export function parseArgs(verb: string, spec: VerbSpec, argv: string[]): ParsedArgs {
  const flags = { ...spec.flags, ...COMMON_FLAGS };
  const usage = (message: string) => usageError(`edgec ${verb}: ${message}\nusage: ${spec.usage}`);
  const command = new Command(`edgec ${verb}`)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false)
    .allowExcessArguments()
    .argument('[arguments...]');
  for (const [name, flag] of Object.entries(flags)) if (!flag.optionalValues && !flag.optionalFile) command.addOption(option(name, flag));
  const { rest, taken } = takeOptionalValues(spec, argv, usage);
  try {
    command.parse(rest, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // commander's messages read "error: unknown option '--x'"; ours name the verb and its usage.
    throw usage(e.message.replace(/^error: /, ''));
  }
  const parsed: ParsedArgs = { positionals: command.args, values: new Map(), switches: new Set() };
  const given = command.opts<Record<string, string[] | boolean>>();
  for (const [name, values] of taken) {
    parsed.switches.add(name);
    if (values.length) parsed.values.set(name, values);
  }
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.optionalValues || flag.optionalFile) continue;
    const o = command.options.find((x) => x.name() === name)!;
    const value = given[o.attributeName()];
    // commander reads a --no-x switch as x, true unless given.
    if (o.negate) {
      if (value === false) parsed.switches.add(name);
      continue;
    }
    if (value === undefined) continue;
    if (!flag.value) parsed.switches.add(name);
    if (!Array.isArray(value)) continue;
    if (value.length > 1 && !flag.repeat) throw usage(`${name.length === 1 ? '-' : '--'}${name} given twice`);
    parsed.values.set(name, value);
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw usage(`expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}`);
  }
  return parsed;
}

export function helpText(spec: VerbSpec): string {
  const lines = [`usage: ${spec.usage}`, '', spec.summary, '', 'options:'];
  for (const [name, flag] of Object.entries({ ...spec.flags, ...COMMON_FLAGS })) {
    const value = flag.optionalValues ? ` [${flag.optionalValues.join('|')}]` : flag.optionalFile ? ` [file${flag.optionalFile}]` : flag.choices ? ` <${flag.choices.join('|')}>` : flag.value ? ' <value>' : '';
    lines.push(`  ${name.length === 1 ? '-' : '--'}${name}${value}`.padEnd(28) + flag.help);
  }
  if (spec.examples?.length) {
    lines.push('', 'examples:');
    for (const [command, what] of spec.examples) lines.push(`  ${command}`, `      ${what}`);
  }
  lines.push('', 'exit codes: 0 success, 1 a problem with the model, the data, a file or a missing tool, 2 bad usage, 70 an internal error (a bug: please report it)');
  return lines.join('\n');
}
