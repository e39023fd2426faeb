import type {
  AddInstruction,
  ArgDefinition,
  CommandLine,
  CopyInstruction,
  FlagNode,
  HealthcheckConfig,
  InlineSource,
  Instruction,
  KeyValue,
  MountSpec,
  NetworkMode,
  Node,
  Position,
  SecurityMode,
} from './ast.js';
import { DockerfileErrorCode, FlagError, MountSpecError, DockerfileParseError, UnknownInstructionError } from './errors.js';
import { FlagProblem, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import { chompHeredocContent, parseHeredocMarker } from './heredoc.js';
import { instructionNames } from './line-parsers.js';
import { MountProblem, parseMount } from './mounts.js';
import { equalFoldAs, goQuote, goToLower } from './go-text.js';
import { closest } from '../common/suggest.js';
import { parseGoDuration } from './units.js';

/** Where typed-level errors point and how they quote the source. */
export interface InstructionContext {
  file: string;
  sourceLine(line: number): string | undefined;
}

/** An argument-level problem, located at `position` (default: the keyword). */
class ArgProblem extends Error {
  constructor(
    message: string,
    readonly position?: Position,
    readonly code: DockerfileParseError['code'] = DockerfileErrorCode.Arguments,
  ) {
    super(message);
  }
}

const atLeastOne = (cmd: string) => new ArgProblem(`${cmd} requires at least one argument`);
const exactlyOne = (cmd: string) => new ArgProblem(`${cmd} requires exactly one argument`);

/** BuildKit's nodeArgs: ONBUILD's trigger keyword and arguments are its arguments. */
function nodeArgs(node: Node): string[] {
  const args = node.args.map((a) => a.value);
  if (node.subNode) args.push(node.subNode.keywordAsWritten, ...nodeArgs(node.subNode));
  return args;
}

function commandLine(node: Node, args: string[]): CommandLine {
  return node.json ? { form: 'exec', args } : { form: 'shell', text: args.join(' ') };
}

function keyValues(node: Node, args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw atLeastOne(cmd);
  if (args.length % 3 !== 0) throw new ArgProblem(`Bad input to ${cmd}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i] === '') throw new ArgProblem(`${cmd} names can not be blank`, node.args[i]?.position);
    pairs.push({ key: args[i]!, value: args[i + 1]!, legacyForm: args[i + 2] === '' });
  }
  return pairs;
}

function requireDestination(args: string[], cmd: 'COPY' | 'ADD'): void {
  if (args.length < 2) {
    throw new ArgProblem(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  }
}

function parseCopyLike(node: Node, args: string[], cmd: 'COPY' | 'ADD', flags: ParsedFlags) {
  const dest = args[args.length - 1]!;
  if (parseHeredocMarker(dest)) throw new ArgProblem(`${cmd} cannot accept a heredoc as a destination`, node.args[args.length - 1]?.position);
  const sources: string[] = [];
  const inlineSources: InlineSource[] = [];
  for (const src of args.slice(0, -1)) {
    const marker = parseHeredocMarker(src);
    if (!marker) {
      sources.push(src);
      continue;
    }
    // BuildKit looks bodies up in a map by name: with a name used twice, the last body wins.
    const doc = node.heredocs.findLast((h) => h.name === marker.name);
    const content = doc?.content ?? '';
    inlineSources.push({ path: marker.name, data: marker.chomp ? chompHeredocContent(content) : content, expand: marker.expand });
  }
  const chown = flags.string('chown');
  const chmod = flags.string('chmod');
  return {
    sources,
    inlineSources,
    dest,
    json: node.json,
    ...(chown === undefined ? {} : { chown }),
    ...(chmod === undefined ? {} : { chmod }),
    link: flags.bool('link') ?? false,
    parents: flags.bool('parents') ?? false,
    exclude: flags.strings('exclude').map((e) => e.value),
    heredocs: node.heredocs,
  };
}

function flagNamed(flags: ParsedFlags, name: string): FlagNode | undefined {
  return flags.nodes.find((f) => f.text === `--${name}` || f.text.startsWith(`--${name}=`));
}

function durationFlag(flags: ParsedFlags, name: string): number | undefined {
  const v = flags.string(name);
  if (v === undefined || v === '') return undefined;
  const d = parseGoDuration(v);
  const flag = flagNamed(flags, name);
  if (d === undefined) throw new FlagProblem(`time: invalid duration "${v}"`, flag);
  if (d !== 0 && d < 1e6) throw new FlagProblem(`Interval "${name}" cannot be less than 1ms`, flag);
  return d;
}

function healthcheck(node: Node, args: string[]): HealthcheckConfig {
  if (args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = args[0]!.toUpperCase();
  const rest = args.slice(1);
  if (type === 'NONE') {
    if (rest.length !== 0) throw new ArgProblem('HEALTHCHECK NONE takes no arguments');
    return { type: 'none' };
  }
  const flags = parseFlags(node.flags, flagSpecs.healthcheck);
  if (type !== 'CMD') throw new ArgProblem(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`, node.args[0]?.position);
  const command = commandLine(node, rest);
  if (rest.length === 0) throw new ArgProblem('Missing command after HEALTHCHECK CMD');
  const check: HealthcheckConfig = { type: 'cmd', command };
  const interval = durationFlag(flags, 'interval');
  const timeout = durationFlag(flags, 'timeout');
  const startPeriod = durationFlag(flags, 'start-period');
  const startInterval = durationFlag(flags, 'start-interval');
  if (interval !== undefined) check.interval = interval;
  if (timeout !== undefined) check.timeout = timeout;
  if (startPeriod !== undefined) check.startPeriod = startPeriod;
  if (startInterval !== undefined) check.startInterval = startInterval;
  const retries = flags.string('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries) || Math.abs(Number(retries)) > 2 ** 31 - 1) {
      throw new FlagProblem(`strconv.ParseInt: parsing ${goQuote(retries)}: invalid syntax`, flagNamed(flags, 'retries'));
    }
    const n = Number(retries);
    if (n < 0) throw new FlagProblem(`--retries cannot be negative (${n})`, flagNamed(flags, 'retries'));
    check.retries = n;
  }
  return check;
}

function runMounts(flags: ParsedFlags, ctx: InstructionContext): MountSpec[] {
  return flags.strings('mount').map(({ value, flag }) => {
    try {
      return parseMount(value);
    } catch (e) {
      if (e instanceof MountProblem) throw new MountSpecError(e.message, { file: ctx.file, ...flag.position }, ctx.sourceLine(flag.position.line));
      throw e;
    }
  });
}

function oneOf<T extends string>(flags: ParsedFlags, name: string, allowed: readonly T[]): T | undefined {
  const v = flags.string(name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new FlagProblem(`unsupported ${name} mode "${v}" (use one of ${allowed.join(', ')})`, flagNamed(flags, name));
  }
  return v as T;
}

/** The flags each instruction accepts (BuildKit's BFlags definitions), built once. */
const flagSpecs = {
  none: {},
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: { chown: 'string', from: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: { chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
} as const satisfies Record<string, FlagSpec>;

/** Instructions without flags still reject any flag given, as BuildKit does. */
function noFlags(node: Node): void {
  if (node.flags.length > 0) parseFlags(node.flags, flagSpecs.none);
}

function typed(node: Node, ctx: InstructionContext): Instruction {
  const base = { range: node.range, original: node.original, comments: node.comments };
  const args = nodeArgs(node);
  switch (node.keyword) {
    case 'from': {
      let stageName: string | undefined;
      if (args.length === 3 && equalFoldAs(args[1]!)) {
        stageName = goToLower(args[2]!);
        if (!/^[a-z][a-z0-9-_.]*$/.test(stageName)) {
          throw new ArgProblem(`invalid name for build stage: ${goQuote(args[2]!)}, name can't start with a number or contain symbols`, node.args[2]?.position);
        }
      } else if (args.length !== 1) {
        throw new ArgProblem('FROM requires either one or three arguments');
      }
      const flags = parseFlags(node.flags, flagSpecs.from);
      const platform = flags.string('platform');
      return { kind: 'from', ...base, image: args[0]!, ...(platform === undefined ? {} : { platform }), ...(stageName === undefined ? {} : { stageName }) };
    }
    case 'run': {
      const flags = parseFlags(node.flags, flagSpecs.run);
      const mounts = runMounts(flags, ctx);
      const network = oneOf<NetworkMode>(flags, 'network', ['default', 'none', 'host']);
      const security = oneOf<SecurityMode>(flags, 'security', ['sandbox', 'insecure']);
      return {
        kind: 'run',
        ...base,
        command: commandLine(node, args),
        heredocs: node.heredocs,
        mounts,
        ...(network === undefined ? {} : { network }),
        ...(security === undefined ? {} : { security }),
      };
    }
    case 'cmd':
      noFlags(node);
      return { kind: 'cmd', ...base, command: commandLine(node, args) };
    case 'entrypoint':
      noFlags(node);
      return { kind: 'entrypoint', ...base, command: commandLine(node, args) };
    case 'copy': {
      requireDestination(args, 'COPY');
      const flags = parseFlags(node.flags, flagSpecs.copy);
      const from = flags.string('from');
      const copy: CopyInstruction = { kind: 'copy', ...base, ...parseCopyLike(node, args, 'COPY', flags) };
      if (from !== undefined) copy.from = from;
      return copy;
    }
    case 'add': {
      requireDestination(args, 'ADD');
      const flags = parseFlags(node.flags, flagSpecs.add);
      const add: AddInstruction = { kind: 'add', ...base, ...parseCopyLike(node, args, 'ADD', flags) };
      const checksum = flags.string('checksum');
      const keepGitDir = flags.bool('keep-git-dir');
      const unpack = flags.bool('unpack');
      if (checksum !== undefined) add.checksum = checksum;
      if (keepGitDir !== undefined) add.keepGitDir = keepGitDir;
      if (unpack !== undefined) add.unpack = unpack;
      return add;
    }
    case 'env':
      noFlags(node);
      return { kind: 'env', ...base, pairs: keyValues(node, args, 'ENV') };
    case 'label':
      noFlags(node);
      return { kind: 'label', ...base, pairs: keyValues(node, args, 'LABEL') };
    case 'arg': {
      if (args.length === 0) throw atLeastOne('ARG');
      // BuildKit's parseArg never parses its flags, so any flag is accepted and ignored.
      const defs: ArgDefinition[] = args.map((a, i) => {
        const eq = a.indexOf('=');
        if (eq < 0) return { key: a };
        if (eq === 0) throw new ArgProblem('ARG names can not be blank', node.args[i]?.position);
        return { key: a.slice(0, eq), value: a.slice(eq + 1) };
      });
      return { kind: 'arg', ...base, args: defs };
    }
    case 'workdir':
      if (args.length !== 1) throw exactlyOne('WORKDIR');
      noFlags(node);
      return { kind: 'workdir', ...base, path: args[0]! };
    case 'user':
      if (args.length !== 1) throw exactlyOne('USER');
      noFlags(node);
      return { kind: 'user', ...base, user: args[0]! };
    case 'expose':
      if (args.length === 0) throw atLeastOne('EXPOSE');
      noFlags(node);
      return { kind: 'expose', ...base, ports: args };
    case 'volume': {
      if (args.length === 0) throw atLeastOne('VOLUME');
      noFlags(node);
      const volumes = args.map((v) => v.trim());
      if (volumes.includes('')) throw new ArgProblem('VOLUME specified can not be an empty string');
      return { kind: 'volume', ...base, volumes, json: node.json };
    }
    case 'shell':
      noFlags(node);
      if (args.length === 0) throw atLeastOne('SHELL');
      if (!node.json) throw new ArgProblem('SHELL requires the arguments to be in JSON form');
      return { kind: 'shell', ...base, shell: args };
    case 'healthcheck':
      return { kind: 'healthcheck', ...base, check: healthcheck(node, args) };
    case 'stopsignal':
      if (args.length !== 1) throw exactlyOne('STOPSIGNAL');
      return { kind: 'stopsignal', ...base, signal: args[0]! };
    case 'maintainer':
      if (args.length !== 1) throw exactlyOne('MAINTAINER');
      noFlags(node);
      return { kind: 'maintainer', ...base, maintainer: args[0]! };
    case 'onbuild': {
      if (args.length === 0) throw atLeastOne('ONBUILD');
      noFlags(node);
      const trigger = args[0]!.trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new ArgProblem('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', node.subNode?.range.start);
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new ArgProblem(`${trigger} isn't allowed as an ONBUILD trigger`, node.subNode?.range.start);
      let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of node.heredocs) expression += `\n${h.content}${h.name}`;
      let parsedTrigger: Instruction | undefined;
      try {
        parsedTrigger = node.subNode ? typed({ ...node.subNode, heredocs: node.heredocs }, ctx) : undefined;
      } catch (e) {
        // BuildKit checks the trigger only when a child image builds; so must we.
        if (!(e instanceof ArgProblem || e instanceof FlagProblem || e instanceof DockerfileParseError)) throw e;
      }
      return { kind: 'onbuild', ...base, expression, ...(parsedTrigger ? { trigger: parsedTrigger } : {}) };
    }
    default:
      throw new UnknownInstructionError(
        node.keywordAsWritten,
        { file: ctx.file, ...node.range.start },
        ctx.sourceLine(node.range.start.line),
        suggestion(node.keyword),
      );
  }
}

/** "did you mean" for a mistyped keyword: the closest instruction within two edits. */
function suggestion(keyword: string): string | undefined {
  const best = closest(keyword, instructionNames);
  return best === undefined ? undefined : `did you mean ${best.toUpperCase()}?`;
}

/** BuildKit's instructions.ParseInstruction: the typed, validated form of one node. */
export function parseInstruction(node: Node, ctx: InstructionContext): Instruction {
  try {
    return typed(node, ctx);
  } catch (e) {
    if (e instanceof ArgProblem) {
      const pos = e.position ?? node.range.start;
      throw new DockerfileParseError(e.code, e.message, { file: ctx.file, ...pos }, ctx.sourceLine(pos.line));
    }
    if (e instanceof FlagProblem) {
      const pos = e.flag?.position ?? node.flags[0]?.position ?? node.range.start;
      throw new FlagError(e.message, { file: ctx.file, ...pos }, ctx.sourceLine(pos.line));
    }
    throw e;
  }
}
