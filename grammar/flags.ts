import type { FlagNode } from './ast.js';
import { DockerfileErrorCode } from './errors.js';

type FlagKind = 'bool' | 'string' | 'strings';

/** Flag name -> kind, for one instruction. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

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

interface FlagValue {
  name: string;
  kind: FlagKind;
  value: string | boolean;
  flag: FlagNode;
}

/** The few flags of one instruction, looked up by a scan: cheaper than maps for one to three flags. */
class FlagValues implements ParsedFlags {
  constructor(
    readonly nodes: FlagNode[],
    private readonly values: FlagValue[],
  ) {}

  private find(name: string, kind: FlagKind): FlagValue | undefined {
    for (const v of this.values) if (v.name === name && v.kind === kind) return v;
    return undefined;
  }

  bool(name: string): boolean | undefined {
    return this.find(name, 'bool')?.value as boolean | undefined;
  }

  string(name: string): string | undefined {
    return this.find(name, 'string')?.value as string | undefined;
  }

  strings(name: string): { value: string; flag: FlagNode }[] {
    const out: { value: string; flag: FlagNode }[] = [];
    for (const v of this.values) if (v.name === name && v.kind === 'strings') out.push({ value: v.value as string, flag: v.flag });
    return out;
  }
}

const noValues: FlagValue[] = [];

/**
 * BuildKit's BFlags: `--name`, `--name=value`; bool flags take no value or true/false, string
 * flags need `=`, repeatable ones collect values. `--` ends the flags.
 */
export function parseFlags(flags: FlagNode[], spec: FlagSpec): ParsedFlags {
  if (flags.length === 0) return new FlagValues(flags, noValues);
  const values: FlagValue[] = [];
  for (const flag of flags) {
    const arg = flag.text;
    if (!arg.startsWith('--')) throw new FlagProblem(`Arg should start with -- : ${arg}`, flag);
    if (arg === '--') break;
    const eq = arg.indexOf('=', 2);
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq >= 0 ? arg.slice(eq + 1) : '';
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new FlagProblem(`Unknown flag: ${name}`, flag);
    if (kind !== 'strings' && values.some((v) => v.name === name)) throw new FlagProblem(`Duplicate flag specified: ${name}`, flag);
    if (kind === 'bool') {
      if (eq >= 0 && value === '') throw new FlagProblem(`Missing a value on flag: ${name}`, flag);
      const lower = value.toLowerCase();
      if (lower !== '' && lower !== 'true' && lower !== 'false') {
        throw new FlagProblem(`Expecting boolean value for flag ${name}, not: ${value}`, flag);
      }
      values.push({ name, kind, value: lower !== 'false', flag });
    } else {
      if (eq < 0) throw new FlagProblem(`Missing a value on flag: ${name}`, flag);
      values.push({ name, kind, value, flag });
    }
  }
  return new FlagValues(flags, values);
}
