import { EmbeddedActionsParser, type IToken } from './chevrotain.js';
import { AnyLine, BlankLine, CommentLine, ContinuedLine, PlainLine, allLineTokens, validateLexers } from './line-lexer.js';

/** Receives the logical structure as the structure parser recognises it. */
export interface StructureHandler {
  /** A comment line between instructions. */
  comment(token: IToken): void;
  /** An instruction: its first line, then continuation lines (comment and blank ones included). */
  instruction(lines: IToken[]): void;
  /** Whether the instruction just seen still has heredoc bodies to read. */
  wantsHeredocLine(): boolean;
  heredocLine(token: IToken): void;
  /** After the instruction and its heredocs (or end of input inside a heredoc). */
  endInstruction(): void;
}

/**
 * Chevrotain grammar of a Dockerfile's logical lines:
 *
 *   dockerfile  := (BlankLine | CommentLine | instruction)*
 *   instruction := (PlainLine | ContinuedLine (CommentLine | BlankLine | ContinuedLine)* PlainLine?)
 *                  heredocLine*            -- while the handler has open heredocs
 */
class LineStructureParser extends EmbeddedActionsParser {
  handler: StructureHandler | undefined;

  /**
   * Chevrotain's self-checks of the grammar cost ~15 ms of every kiln start; the grammar is fixed,
   * so they run in the tests (validateGrammar) instead.
   */
  constructor(validate = false) {
    super(allLineTokens, { recoveryEnabled: false, skipValidations: !validate });
    this.performSelfAnalysis();
  }

  private h(): StructureHandler {
    return this.handler!;
  }

  /** Lines of the instruction being recognised (state, so the alternatives below can be built once). */
  private lines: IToken[] = [];

  // Alternatives and loop bodies are created once, not per line: Chevrotain's advice for speed.
  private readonly topAlts = [
    { ALT: () => this.CONSUME(BlankLine) },
    {
      ALT: () => {
        this.token = this.CONSUME(CommentLine);
        this.ACTION(this.commentAction);
      },
    },
    { ALT: () => this.SUBRULE(this.instruction) },
  ];
  private readonly continuationAlts = [
    { ALT: () => this.CONSUME2(CommentLine) },
    { ALT: () => this.CONSUME2(BlankLine) },
    { ALT: () => this.CONSUME2(ContinuedLine) },
  ];
  private readonly continuation = () => {
    this.lines.push(this.OR2(this.continuationAlts));
  };
  private readonly lastLine = () => {
    this.lines.push(this.CONSUME2(PlainLine));
  };
  private readonly instructionAlts = [
    { ALT: () => this.lines.push(this.CONSUME(PlainLine)) },
    {
      ALT: () => {
        this.lines.push(this.CONSUME(ContinuedLine));
        this.MANY(this.continuation);
        this.OPTION(this.lastLine);
      },
    },
  ];
  private readonly heredocBody = {
    GATE: () => this.h().wantsHeredocLine(),
    DEF: () => {
      this.token = this.CONSUME(AnyLine);
      this.ACTION(this.heredocLineAction);
    },
  };
  // Actions are built once and read their token from state: a closure per line is measurable garbage.
  private token: IToken | undefined;
  private readonly commentAction = () => this.h().comment(this.token!);
  private readonly heredocLineAction = () => this.h().heredocLine(this.token!);
  private readonly instructionAction = () => this.h().instruction(this.lines);
  private readonly endInstructionAction = () => this.h().endInstruction();

  readonly dockerfile = this.RULE('dockerfile', () => {
    this.MANY(() => this.OR(this.topAlts));
  });

  readonly instruction = this.RULE('instruction', () => {
    this.lines.length = 0;
    this.OR(this.instructionAlts);
    this.ACTION(this.instructionAction);
    this.MANY2(this.heredocBody);
    this.ACTION(this.endInstructionAction);
  });
}

// Built once, on first use: Chevrotain's grammar analysis is the expensive part (~6 ms), and
// most kiln commands that load the grammar (everything touching images) parse no Dockerfile.
let parser: LineStructureParser | undefined;

/** Builds the lexers and the parser with Chevrotain's validations on; throws what they find. */
export function validateGrammar(): void {
  new LineStructureParser(true);
  validateLexers();
}

/** Runs the structure grammar over line tokens, reporting to `handler`. Not re-entrant. */
export function parseLineStructure(tokens: IToken[], handler: StructureHandler): void {
  parser ??= new LineStructureParser();
  parser.input = tokens;
  parser.handler = handler;
  try {
    parser.dockerfile();
  } finally {
    parser.handler = undefined;
  }
  if (parser.errors.length > 0) {
    // Every line token fits the grammar, so this means a bug in the grammar, not in the Dockerfile.
    throw new Error(`internal: Dockerfile line structure not recognised: ${parser.errors[0]!.message}`);
  }
}
