import type { FlagNode } from './ast.js';
import { DockerfileErrorCode } from './errors.js';

type FlagKind = 'bool' | 'string' | 'strings';

/** A flag problem and the flag it is about (undefined: about the instruction). */
export class FlagProblem extends Error {
  readonly code = DockerfileErrorCode.Flag;
  constructor(
    message: string,
    readonly flag: FlagNode | undefined,
  ) {
    super(message);
  }
}

export interface ParsedFlags {
  /** The flags as written. */
  nodes: FlagNode[];
  bool(name: string): boolean | undefined;
  string(name: string): string | undefined;
  strings(name: string): { value: string; flag: FlagNode }[];
}

const noValue = (): undefined => undefined;
const noValues = (): { value: string; flag: FlagNode }[] => [];

/**
 * BuildKit's BFlags: `--name`, `--name=value`; bool flags take no value or true/false, string
 * flags need `=`, repeatable ones collect values. `--` ends the flags.
 */
export function parseFlags(flags: FlagNode[], spec: Record<string, FlagKind>): ParsedFlags {
  // Most instructions have no flags: skip the maps and closures below for them.
  if (flags.length === 0) return { nodes: flags, bool: noValue, string: noValue, strings: noValues };
  const bools = new Map<string, boolean>();
  const strings = new Map<string, string>();
  const lists = new Map<string, { value: string; flag: FlagNode }[]>();
  for (const flag of flags) {
    const arg = flag.text;
    if (!arg.startsWith('--')) throw new FlagProblem(`Arg should start with -- : ${arg}`, flag);
    if (arg === '--') break;
    const eq = arg.indexOf('=', 2);
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq >= 0 ? arg.slice(eq + 1) : '';
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new FlagProblem(`Unknown flag: ${name}`, flag);
    if (kind !== 'strings' && (bools.has(name) || strings.has(name))) throw new FlagProblem(`Duplicate flag specified: ${name}`, flag);
    if (kind === 'bool') {
      if (eq >= 0 && value === '') throw new FlagProblem(`Missing a value on flag: ${name}`, flag);
      const lower = value.toLowerCase();
      if (lower !== '' && lower !== 'true' && lower !== 'false') {
        throw new FlagProblem(`Expecting boolean value for flag ${name}, not: ${value}`, flag);
      }
      bools.set(name, lower !== 'false');
    } else {
      if (eq < 0) throw new FlagProblem(`Missing a value on flag: ${name}`, flag);
      if (kind === 'string') strings.set(name, value);
      else lists.set(name, [...(lists.get(name) ?? []), { value, flag }]);
    }
  }
  return {
    nodes: flags,
    bool: (name) => bools.get(name),
    string: (name) => strings.get(name),
    strings: (name) => lists.get(name) ?? [],
  };
}
