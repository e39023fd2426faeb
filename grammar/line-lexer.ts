import { Lexer, createToken, type TokenType } from './chevrotain.js';
import { GO_SPACE_CLASS } from './go-text.js';

/**
 * Chevrotain lexer for the physical-line structure of a Dockerfile. Each token is one whole
 * physical line (with its `\n`), classified the way BuildKit's parse loop looks at lines:
 * a comment, a blank line, a line ending in the escape character (continued), or anything else.
 * The escape character is chosen by the `# escape=` directive, hence one lexer per escape token.
 */

const WS = GO_SPACE_CLASS.replace('\\n', '');

/** Category shared by every line token: a heredoc body takes lines of any kind. */
export const AnyLine = createToken({ name: 'AnyLine', pattern: Lexer.NA });
/** Category of continued lines, whichever the escape token. */
export const ContinuedLine = createToken({ name: 'ContinuedLine', pattern: Lexer.NA, categories: [AnyLine] });

export const CommentLine = createToken({
  name: 'CommentLine',
  pattern: new RegExp(`[${WS}]*#[^\\n]*\\n?`),
  line_breaks: true,
  categories: [AnyLine],
});

export const BlankLine = createToken({
  name: 'BlankLine',
  pattern: new RegExp(`[${WS}]*\\n|[${WS}]+(?![^])`),
  line_breaks: true,
  categories: [AnyLine],
});

/** A line whose last non-blank character is the escape token, not itself escaped (BuildKit's regex). */
function continuedLine(name: string, escape: string): TokenType {
  const e = escape === '\\' ? '\\\\' : escape;
  return createToken({
    name,
    pattern: new RegExp(`(?:[^\\n]*[^${e}\\n])?${e}[ \\t]*\\r*(?:\\n|(?![^]))`),
    line_breaks: true,
    categories: [ContinuedLine, AnyLine],
  });
}

export const BackslashContinuedLine = continuedLine('BackslashContinuedLine', '\\');
export const BacktickContinuedLine = continuedLine('BacktickContinuedLine', '`');

export const PlainLine = createToken({
  name: 'PlainLine',
  pattern: /[^\n]+\n?/,
  line_breaks: true,
  categories: [AnyLine],
});

/** Every token type the structure parser may see. */
export const allLineTokens: TokenType[] = [
  AnyLine,
  ContinuedLine,
  CommentLine,
  BlankLine,
  BackslashContinuedLine,
  BacktickContinuedLine,
  PlainLine,
];

function lexerFor(continued: TokenType, validate = false): Lexer {
  // Only `\n` ends a line, as in BuildKit's scanner (a lone `\r` is part of the line).
  return new Lexer([CommentLine, BlankLine, continued, PlainLine], {
    positionTracking: 'onlyStart',
    lineTerminatorsPattern: /\n/g,
    lineTerminatorCharacters: ['\n'],
    ensureOptimizations: false,
    // Validated in the tests (validateLexers), not at every start.
    skipValidations: !validate,
  });
}

/** Built on first use, as the parser is: few commands lex a Dockerfile, and few Dockerfiles use the backtick. */
const lexers: { '\\'?: Lexer; '`'?: Lexer } = {};

/** Builds both lexers with Chevrotain's validations on; throws what they find. */
export function validateLexers(): void {
  lexerFor(BackslashContinuedLine, true);
  lexerFor(BacktickContinuedLine, true);
}

export function lexerForEscape(escape: '\\' | '`'): Lexer {
  return (lexers[escape] ??= lexerFor(escape === '\\' ? BackslashContinuedLine : BacktickContinuedLine));
}
