/**
 * The Dockerfile AST, at two levels.
 *
 * 1. `Node`: the raw level, mirroring BuildKit's parser.Node. One node per instruction with the
 *    lower-cased keyword, the flags exactly as written (`--from=build`), the argument values the
 *    way BuildKit's line parsers split them, the original logical line, heredoc bodies and, for
 *    ONBUILD, the nested instruction. `dumpAst` works from this level.
 * 2. `Instruction`: the typed level, a discriminated union on `kind`, validated the way BuildKit's
 *    instructions/parse.go validates (flags known, argument counts, mount specs...).
 *
 * Every string value in the typed level is RAW: quotes, `$VAR` references and escapes are kept as
 * written (ENV/ARG/LABEL values, COPY sources, FROM image, WORKDIR, USER, mount fields, ...).
 * ARG/ENV expansion happens later in the solver with the shell-word expansion (grammar/shell);
 * the escape character needed for that is `ParseResult.escapeToken`. Values that came from a
 * JSON (exec-form) array are already JSON-decoded and must not be word-expanded as shell text;
 * `CommandLine.form` records which form was used.
 */

/** 1-based line and column. Columns count UTF-16 code units of the source line. */
export interface Position {
  line: number;
  column: number;
}

/** Inclusive start, exclusive end column on the end line. */
export interface SourceRange {
  start: Position;
  end: Position;
}

/** A heredoc body attached to RUN/COPY/ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF`). */
  name: string;
  /** `3<<EOF` gives 3; 0 when not given. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: the body is then not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from body lines (already applied by `heredocContent`). */
  chomp: boolean;
  /** Body exactly as written, every line with its line terminator, excluding the delimiter line. */
  content: string;
  range: SourceRange;
}

/** A flag as written before the arguments, e.g. `--mount=type=cache,target=/x`. */
export interface FlagNode {
  /** The flag text as BuildKit keeps it (quotes removed): `--from=build`. */
  text: string;
  position: Position;
}

/** One argument value of a raw node (a word, a JSON array element, a key, a value...). */
export interface ArgNode {
  value: string;
  position: Position;
}

/** Raw instruction node (BuildKit parser.Node). */
export interface Node {
  /** Lower-cased instruction keyword (`run`). */
  keyword: string;
  /** Keyword as written (`Run`). */
  keywordAsWritten: string;
  /** The logical line: continuation lines joined, comment lines dropped (BuildKit's `Original`). */
  original: string;
  flags: FlagNode[];
  /**
   * Argument values as BuildKit's line parser produced them. ENV/LABEL give (key, value, sep)
   * triples where sep is "=" or "" (legacy `ENV k v`). Empty for ONBUILD (see `subNode`).
   */
  args: ArgNode[];
  /** True when the arguments were a JSON array (exec form). */
  json: boolean;
  heredocs: Heredoc[];
  /** ONBUILD's trigger instruction. */
  subNode?: Node;
  /** Comment lines directly above the instruction, `#` and surrounding space removed. */
  comments: string[];
  /** From the keyword to the end of the last line (including heredoc bodies). */
  range: SourceRange;
}

export interface CheckDirective {
  /** Rule names to skip, or `all`. */
  skip: string[] | 'all';
  error: boolean;
  raw: string;
}

export interface Directives {
  syntax?: string;
  escape?: string;
  check?: CheckDirective;
}

export interface Warning {
  /** Stable code, BuildKit's rule name where one exists (e.g. `MaintainerDeprecated`). */
  code: string;
  message: string;
  position: Position;
  file: string;
}

// ---------------------------------------------------------------------------------------------
// Typed instructions

/** A command line in shell form (one raw string, run through the SHELL) or exec form (JSON). */
export type CommandLine =
  | { form: 'shell'; text: string }
  | { form: 'exec'; args: string[] };

interface InstructionBase {
  range: SourceRange;
  /** The logical source line (BuildKit's `Original`), for messages and cache keys. */
  original: string;
  /** Comment lines directly above the instruction. */
  comments: string[];
}

export interface FromInstruction extends InstructionBase {
  kind: 'from';
  /** Raw image reference, may contain `$ARG` references. */
  image: string;
  /** Raw `--platform` value. */
  platform?: string;
  /** `AS name`, lower-cased as BuildKit does. */
  stageName?: string;
}

export interface KeyValue {
  key: string;
  value: string;
  /** True for the legacy `ENV key value` form (no `=`). */
  legacyForm: boolean;
}

export type MountSharing = 'shared' | 'private' | 'locked';

interface MountBase {
  /**
   * The `--mount` value as written. Fields holding `$VAR` are not validated at parse time; the
   * solver expands and parses it again with `expandMount`.
   */
  raw: string;
  /** Raw target path (`target`, `dst`, `destination`); always set for bind, cache and tmpfs. */
  target?: string;
  readonly: boolean;
}

export interface BindMount extends MountBase {
  type: 'bind';
  source?: string;
  /** Stage name or image to mount from; the build context when absent. */
  from?: string;
}

export interface CacheMount extends MountBase {
  type: 'cache';
  id?: string;
  sharing: MountSharing;
  source?: string;
  from?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface TmpfsMount extends MountBase {
  type: 'tmpfs';
  /** Size limit in bytes (`size=64m`). */
  size?: number;
}

export interface SecretMount extends MountBase {
  type: 'secret';
  id?: string;
  source?: string;
  /** Expose the secret as this environment variable instead of (or as well as) a file. */
  env?: string;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface SshMount extends MountBase {
  type: 'ssh';
  id?: string;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}

export type MountSpec = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

export interface RunInstruction extends InstructionBase {
  kind: 'run';
  command: CommandLine;
  heredocs: Heredoc[];
  mounts: MountSpec[];
  network?: NetworkMode;
  security?: SecurityMode;
}

export interface CmdInstruction extends InstructionBase {
  kind: 'cmd';
  command: CommandLine;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'entrypoint';
  command: CommandLine;
}

/** Heredoc used as a COPY/ADD source: becomes a file named `path` with `data`. */
export interface InlineSource {
  path: string;
  data: string;
  /** Whether `$VAR` in `data` is expanded (delimiter not quoted). */
  expand: boolean;
}

interface CopyLikeBase extends InstructionBase {
  /** Raw source paths/URLs (heredoc sources are in `inlineSources`). */
  sources: string[];
  inlineSources: InlineSource[];
  /** Raw destination. */
  dest: string;
  /** True when written as a JSON array. */
  json: boolean;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
  heredocs: Heredoc[];
}

export interface CopyInstruction extends CopyLikeBase {
  kind: 'copy';
  from?: string;
  parents: boolean;
}

export interface AddInstruction extends CopyLikeBase {
  kind: 'add';
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'env';
  pairs: KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  kind: 'label';
  pairs: KeyValue[];
}

export interface ArgDefinition {
  key: string;
  /** Raw default (quotes kept), undefined when there is no `=`. */
  value?: string;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'arg';
  args: ArgDefinition[];
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'workdir';
  path: string;
}

export interface UserInstruction extends InstructionBase {
  kind: 'user';
  user: string;
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'expose';
  /** Raw port specs in source order (`80`, `53/udp`, `$PORT`). */
  ports: string[];
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'volume';
  volumes: string[];
  json: boolean;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'shell';
  shell: string[];
}

export type HealthcheckConfig =
  | { type: 'none' }
  | {
      type: 'cmd';
      command: CommandLine;
      /** Durations in nanoseconds, as in the image config; absent when not given. */
      interval?: number;
      timeout?: number;
      startPeriod?: number;
      startInterval?: number;
      retries?: number;
    };

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'healthcheck';
  check: HealthcheckConfig;
}

export interface StopSignalInstruction extends InstructionBase {
  kind: 'stopsignal';
  signal: string;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'onbuild';
  /**
   * The trigger as a typed instruction. BuildKit only checks the trigger keyword here and parses
   * the rest when a child image builds, so a trigger that does not parse yet is left undefined.
   */
  trigger?: Instruction;
  /** The trigger's source text as stored in the image config (`RUN echo hi`). */
  expression: string;
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'maintainer';
  maintainer: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | StopSignalInstruction
  | OnbuildInstruction
  | MaintainerInstruction;

export type InstructionKind = Instruction['kind'];

/** Result of parsing only the raw level (what BuildKit's parser.Parse returns). */
export interface NodeParseResult {
  file: string;
  directives: Directives;
  /** `\` or `` ` ``: needed to expand words later. */
  escapeToken: '\\' | '`';
  nodes: Node[];
  warnings: Warning[];
  /** A `# check=` directive whose value BuildKit's linter rejects (parseDockerfile throws it). */
  checkProblem?: { message: string; position: Position; sourceLine?: string };
}

export interface ParseResult extends NodeParseResult {
  /** One typed instruction per node, same order. */
  instructions: Instruction[];
}

/** A build stage: a FROM and the instructions after it up to the next FROM. */
export interface Stage {
  /** 0-based position among the stages. */
  index: number;
  /** Lower-cased `AS` name, if any. */
  name?: string;
  from: FromInstruction;
  instructions: Exclude<Instruction, FromInstruction>[];
}

export interface Stages {
  /** ARG instructions before the first FROM (usable in FROM lines). */
  globalArgs: ArgInstruction[];
  stages: Stage[];
}
