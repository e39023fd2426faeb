import type { Instruction, ParseResult, Warning } from './ast.js';
import { DirectiveError, DockerfileErrorCode, DockerfileParseError } from './errors.js';
import { parseInstruction } from './instructions.js';
import { lintInstructions } from './lint.js';
import { parseDockerfileNodes, type ParseOptions } from './parse-nodes.js';
import { sourceLineReader } from './source-lines.js';
import { groupStages } from './stages.js';

function byPosition(a: Warning, b: Warning): number {
  return a.position.line - b.position.line || a.position.column - b.position.column;
}

/**
 * Parses a Dockerfile: BuildKit's raw parse, then every instruction typed and validated as
 * BuildKit's instructions.Parse does (including the stage structure). Throws a
 * DockerfileParseError (file, line, column) for anything BuildKit rejects. Warnings are returned,
 * minus the rules a `# check=skip=...` directive (or `options.check` in its place) turns off.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): ParseResult {
  const raw = parseDockerfileNodes(text, options);
  if (raw.checkProblem && !options.check) {
    const { message, position, sourceLine } = raw.checkProblem;
    throw new DirectiveError(message, { file: raw.file, ...position }, sourceLine);
  }
  const ctx = { file: raw.file, sourceLine: sourceLineReader(text) };
  const instructions = raw.nodes.map((n) => parseInstruction(n, ctx));
  groupStages(instructions, raw.file);
  const skip = (options.check ?? raw.directives.check)?.skip ?? [];
  const warnings = [...raw.warnings, ...lintInstructions(raw.nodes, instructions, raw.file)]
    .filter((w) => skip !== 'all' && !skip.includes(w.code))
    .sort(byPosition);
  return { ...raw, instructions, warnings };
}

/**
 * One instruction on its own, typed and validated like a Dockerfile line but without the stage
 * rules (no FROM needed): what `docker commit --change` / `docker import --change` parse.
 */
export function parseSingleInstruction(text: string, options: ParseOptions = {}): Instruction {
  const raw = parseDockerfileNodes(text, options);
  if (raw.nodes.length !== 1) {
    const extra = raw.nodes[1]!.range.start;
    throw new DockerfileParseError(DockerfileErrorCode.Syntax, 'expected exactly one instruction', { file: raw.file, ...extra }, sourceLineReader(text)(extra.line));
  }
  return parseInstruction(raw.nodes[0]!, { file: raw.file, sourceLine: sourceLineReader(text) });
}

export type { ParseOptions };
