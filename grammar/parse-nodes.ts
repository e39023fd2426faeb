import type { IToken } from './chevrotain.js';
import type { CheckDirective, Heredoc, Node, NodeParseResult, Position, Warning } from './ast.js';
import { matchDirective, scanDirectives } from './directives.js';
import { DirectiveError, DockerfileErrorCode, DockerfileParseError, UnterminatedHeredocError } from './errors.js';
import { leadingSpaceLength, trimSpace } from './go-text.js';
import type { HeredocMarker } from './heredoc.js';
import { ContinuedLine, lexerForEscape } from './line-lexer.js';
import { parseLineStructure, type StructureHandler } from './line-structure.js';
import { LogicalLine, type Segment } from './logical-line.js';
import { heredocMarkersFor, nodeFromLine } from './node-builder.js';
import { LineProblem } from './problem.js';
import { sourceLineReader } from './source-lines.js';

export interface ParseOptions {
  /** File name used in positions and messages; default `Dockerfile`. */
  file?: string;
  /** Check options in place of the Dockerfile's `# check` directive (BuildKit's BUILDKIT_DOCKERFILE_CHECK build arg). */
  check?: CheckDirective;
}

/** Go's bytes.TrimRight(line, "\r\n"). Loops, not regexes: this runs on every line. */
function trimNewline(s: string): string {
  let end = s.length;
  for (let c = s.charCodeAt(end - 1); c === 0x0a || c === 0x0d; c = s.charCodeAt(end - 1)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** The escape token ends the line (BuildKit's lineContinuationRegex): drop it and the blanks after it. */
function cutContinuation(content: string): string {
  let end = content.length;
  for (let c = content.charCodeAt(end - 1); c === 0x20 || c === 0x09; c = content.charCodeAt(end - 1)) end--;
  return content.slice(0, end - 1);
}

function isContinued(t: IToken): boolean {
  return t.tokenType.CATEGORIES?.includes(ContinuedLine) ?? false;
}

interface OpenHeredoc extends HeredocMarker {
  offset: number;
  content: string;
  firstLine?: number;
}

/** Builds nodes from the line structure, exactly as BuildKit's parser.Parse loop does. */
class NodeBuilder implements StructureHandler {
  readonly nodes: Node[] = [];
  readonly warnings: Warning[] = [];
  private comments: string[] = [];
  private node: Node | undefined;
  private line: LogicalLine | undefined;
  private pending: OpenHeredoc[] = [];

  constructor(
    private readonly file: string,
    private readonly escape: '\\' | '`',
    private readonly tokens: IToken[],
    private readonly directiveLines: Set<number>,
  ) {}

  sourceLine(line: number): string | undefined {
    const t = this.tokens[line - 1];
    return t ? trimNewline(t.image) : undefined;
  }

  private error(p: LineProblem, line: LogicalLine): DockerfileParseError {
    const pos = line.positionAt(p.offset);
    return new DockerfileParseError(p.code, p.message, { file: this.file, ...pos }, this.sourceLine(pos.line), { hint: p.hint });
  }

  private warn(code: string, message: string, position: Position): void {
    this.warnings.push({ code, message, position, file: this.file });
  }

  comment(t: IToken): void {
    this.comments.push(trimSpace(t.image.slice(1)));
    if (!this.directiveLines.has(t.startLine!)) {
      const d = matchDirective(t.image);
      if (d) {
        this.warn(
          'InvalidDirectivePosition',
          `parser directive "${d.name}" is ignored: directives must come before any instruction, comment or blank line`,
          { line: t.startLine!, column: leadingSpaceLength(t.image) + 1 },
        );
      }
    }
  }

  instruction(lines: IToken[]): void {
    const first = lines[0]!;
    let text = trimNewline(first.image);
    const lead = leadingSpaceLength(text);
    text = text.slice(lead);
    if (isContinued(first)) text = cutContinuation(text);
    const segments: Segment[] = [{ offset: 0, line: first.startLine!, column: lead + 1 }];
    let emptyContinuation: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const t = lines[i]!;
      const name = t.tokenType.name;
      if (name === 'CommentLine') continue;
      if (name === 'BlankLine') {
        emptyContinuation ??= t.startLine!;
        continue;
      }
      let content = trimNewline(t.image);
      if (isContinued(t)) content = cutContinuation(content);
      segments.push({ offset: text.length, line: t.startLine!, column: 1 });
      text += content;
    }
    const line = new LogicalLine(text, segments);
    if (emptyContinuation !== undefined) {
      this.warn('NoEmptyContinuation', `Empty continuation line found in: ${text}`, { line: emptyContinuation, column: 1 });
    }
    let node: Node;
    let markers: ReturnType<typeof heredocMarkersFor>;
    try {
      node = nodeFromLine(line, this.escape, this.comments);
      markers = heredocMarkersFor(node, line);
    } catch (e) {
      if (e instanceof LineProblem) throw this.error(e, line);
      throw e;
    }
    this.comments = [];
    const last = lines[lines.length - 1]!;
    node.range.end = { line: last.startLine!, column: trimNewline(last.image).length + 1 };
    this.node = node;
    this.line = line;
    this.pending = markers.map((m) => ({ ...m, content: '' }));
  }

  wantsHeredocLine(): boolean {
    return this.pending.length > 0;
  }

  heredocLine(t: IToken): void {
    const doc = this.pending[0]!;
    let candidate = trimNewline(t.image);
    if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
    const lineNo = t.startLine!;
    if (candidate !== doc.name) {
      doc.content += t.image;
      doc.firstLine ??= lineNo;
      return;
    }
    const end = { line: lineNo, column: trimNewline(t.image).length + 1 };
    const heredoc: Heredoc = {
      name: doc.name,
      fileDescriptor: doc.fileDescriptor,
      expand: doc.expand,
      chomp: doc.chomp,
      content: doc.content,
      range: { start: { line: doc.firstLine ?? lineNo, column: 1 }, end },
    };
    this.node!.heredocs.push(heredoc);
    this.node!.range.end = end;
    this.pending.shift();
  }

  endInstruction(): void {
    const node = this.node!;
    if (this.pending.length > 0) {
      const doc = this.pending[0]!;
      const pos = this.line!.positionAt(doc.offset);
      throw new UnterminatedHeredocError(doc.name, { file: this.file, ...pos }, this.sourceLine(pos.line));
    }
    this.nodes.push(node);
    this.node = undefined;
  }
}

/** bufio.MaxScanTokenSize: BuildKit's scanner fails on a line whose bytes (less the \n) reach it. */
const MAX_LINE_BYTES = 64 * 1024;

/** The first physical line too long for BuildKit's scanner, counted in UTF-8 bytes (a BOM included). */
function findTooLongLine(source: string): { line: number; start: number } | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes: shorter text cannot hold such a line.
  if (source.length * 3 < MAX_LINE_BYTES) return undefined;
  let line = 1;
  for (let start = 0; start < source.length; line++) {
    const nl = source.indexOf('\n', start);
    const end = nl < 0 ? source.length : nl;
    if ((end - start) * 3 >= MAX_LINE_BYTES && Buffer.byteLength(source.slice(start, end), 'utf8') >= MAX_LINE_BYTES) {
      return { line, start };
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return undefined;
}

/**
 * Parses a Dockerfile to BuildKit's raw node level (what BuildKit's parser.Parse does): no
 * per-instruction validation beyond what that parser checks. `parseDockerfile` adds the typed level.
 */
export function parseDockerfileNodes(source: string, options: ParseOptions = {}): NodeParseResult {
  const file = options.file ?? 'Dockerfile';
  const tooLong = findTooLongLine(source);
  if (tooLong) {
    // BuildKit's bufio.Scanner stops at the line: what comes before is parsed (and can fail, or
    // have no instruction), then the scanner's error fails the whole parse.
    parseDockerfileNodes(source.slice(0, tooLong.start), options);
    throw new DockerfileParseError(
      DockerfileErrorCode.Syntax,
      `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`,
      { file, line: tooLong.line, column: 1 },
      sourceLineReader(source)(tooLong.line),
      { hint: 'BuildKit reads a Dockerfile with a 64 KiB line buffer; split the line with continuations' },
    );
  }
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const scan = scanDirectives(text);
  const lex = lexerForEscape(scan.escapeToken).tokenize(text);
  const tokens = lex.tokens;
  if (scan.problem) {
    const { message, line } = scan.problem;
    const src = tokens[line - 1] ? trimNewline(tokens[line - 1]!.image) : undefined;
    throw new DirectiveError(message, { file, line, column: 1 }, src);
  }
  const builder = new NodeBuilder(file, scan.escapeToken, tokens, new Set(scan.found.map((f) => f.line)));
  parseLineStructure(tokens, builder);
  if (builder.nodes.length === 0) {
    const line = Math.max(1, tokens.length);
    throw new DockerfileParseError(
      DockerfileErrorCode.Empty,
      'file with no instructions',
      { file, line, column: 1 },
      builder.sourceLine(line),
      { hint: 'a Dockerfile needs at least a FROM instruction' },
    );
  }
  const result: NodeParseResult = { file, directives: scan.directives, escapeToken: scan.escapeToken, nodes: builder.nodes, warnings: builder.warnings };
  if (scan.checkProblem) {
    const { message, line } = scan.checkProblem;
    result.checkProblem = { message, position: { line, column: 1 }, sourceLine: builder.sourceLine(line) };
  }
  return result;
}
