import type { KilnErrorOptions } from '../../common/errors.js';
import { lookupEnv, type ShellEnv } from './env.js';
import { ShellExpansionError, type ShellErrorCode } from './errors.js';
import { PatternSyntaxError, replacePattern, trimPrefix, trimSuffix } from './pattern.js';
import { WordSplitter } from './words.js';

/** How a word is read. The defaults are what ENV, ARG, COPY, WORKDIR … use. */
export interface ExpandOptions {
  /** The Dockerfile's escape character (`# escape=` directive). Default `\`. */
  escapeToken?: '\\' | '`';
  /** Process `'` and `"` as quotes. False for heredoc bodies, where they are ordinary text (BuildKit's SkipProcessQuotes). Default true. */
  processQuotes?: boolean;
  /** Keep the quote characters in the result (BuildKit's RawQuotes). Default false. */
  rawQuotes?: boolean;
  /** Keep escape characters in the result (BuildKit's RawEscapes). Default false. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written, e.g. `$X` or `${X:-a}` (BuildKit's SkipUnsetEnv). Default false. */
  skipUnsetEnv?: boolean;
}

/** The expanded word and which variables it looked up (set ones in `matched`, unset in `unmatched`). */
export interface ExpansionWithMatches {
  result: string;
  matched: Set<string>;
  unmatched: Set<string>;
}

const EOF = -1;
const cp = (c: string): number => c.codePointAt(0)!;
const DOLLAR = cp('$');
const SINGLE = cp("'");
const DOUBLE = cp('"');
const OPEN = cp('{');
const CLOSE = cp('}');
const COLON = cp(':');
const SLASH = cp('/');
const HASH = cp('#');
const PERCENT = cp('%');
const PLUS = cp('+');
const MINUS = cp('-');
const QUESTION = cp('?');
const UNDERSCORE = cp('_');
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0'].map(cp));
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

const str = (c: number): string => (c === EOF ? '' : String.fromCodePoint(c));
const isLetter = (c: number): boolean => c !== EOF && LETTER.test(str(c));
const isDigit = (c: number): boolean => c !== EOF && DIGIT.test(str(c));

/**
 * One expansion of one word: a hand-written scanner mirroring BuildKit's shell/lex.go, so
 * quoting, escapes and every ${} form behave exactly as `docker build` does.
 */
class WordExpander {
  private pos = 0;
  private rawEscapes: boolean;
  private readonly escape: number;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly word: string,
    private readonly env: ShellEnv,
    private readonly options: ExpandOptions,
  ) {
    this.escape = cp(options.escapeToken ?? '\\');
    this.rawEscapes = options.rawEscapes ?? false;
    // BuildKit reads the word with Go's text/scanner, which drops a byte-order mark that starts it.
    if (word.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  expand(words: WordSplitter | null): string {
    return this.processUntil(EOF, this.rawEscapes, words).text;
  }

  private peek(): number {
    return this.pos < this.word.length ? this.word.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    const c = this.peek();
    if (c !== EOF) this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  private fail(code: ShellErrorCode, message: string, offset: number, options: KilnErrorOptions = {}): ShellExpansionError {
    return new ShellExpansionError(code, message, this.word, offset, options);
  }

  private literalDollarHint(): string {
    return `write ${str(this.escape)}$ for a literal "$"`;
  }

  private lookup(name: string): string | undefined {
    const value = lookupEnv(this.env, name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }

  /** Reads up to `stop` (consumed; `closed` says whether it was found) or the end of the word. */
  private processUntil(stop: number, rawEscapes: boolean, words: WordSplitter | null): { text: string; closed: boolean } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const quotes = this.options.processQuotes ?? true;
      while (this.peek() !== EOF) {
        const c = this.peek();
        if (stop !== EOF && c === stop) {
          this.next();
          return { text: result, closed: true };
        }
        if (c === DOLLAR) {
          const value = this.processDollar();
          result += value;
          words?.addString(value);
        } else if (quotes && (c === SINGLE || c === DOUBLE)) {
          const value = c === SINGLE ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          words?.addRaw(value);
        } else {
          let ch = this.next();
          if (ch === this.escape) {
            if (this.rawEscapes) {
              words?.addRaw(str(ch));
              result += str(ch);
            }
            // An escape at the very end of the word is dropped.
            ch = this.next();
            if (ch === EOF) break;
            words?.addRaw(str(ch));
          } else {
            words?.addChar(str(ch));
          }
          result += str(ch);
        }
      }
      return { text: result, closed: stop === EOF };
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Everything up to the next ' is literal; nothing can be escaped inside.
  private processSingleQuote(): string {
    const start = this.pos;
    const quote = str(this.next());
    let result = this.options.rawQuotes ? quote : '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw this.fail('E_SHELL_UNTERMINATED_QUOTE', 'unexpected end of statement while looking for matching single-quote', start);
      }
      if (ch === SINGLE) return this.options.rawQuotes ? result + quote : result;
      result += str(ch);
    }
  }

  // Variables expand inside "..."; the escape character only escapes ", $ and itself.
  private processDoubleQuote(): string {
    const start = this.pos;
    const quote = str(this.next());
    let result = this.options.rawQuotes ? quote : '';
    for (;;) {
      const c = this.peek();
      if (c === EOF) {
        throw this.fail('E_SHELL_UNTERMINATED_QUOTE', 'unexpected end of statement while looking for matching double-quote', start);
      }
      if (c === DOUBLE) {
        this.next();
        return this.options.rawQuotes ? result + quote : result;
      }
      if (c === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += str(ch);
        const following = this.peek();
        if (following === EOF) continue;
        if (following === DOUBLE || following === DOLLAR || following === this.escape) ch = this.next();
      }
      result += str(ch);
    }
  }

  /**
   * A variable name: letters, digits and `_`; or a run of digits (positional parameter);
   * or one special parameter character. Empty when none follows.
   */
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const c = this.peek();
      if (name === '' && isDigit(c)) {
        while (isDigit(this.peek())) name += str(this.next());
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(c)) return str(this.next());
      if (!isLetter(c) && !isDigit(c) && c !== UNDERSCORE) break;
      name += str(this.next());
    }
    return name;
  }

  private processDollar(): string {
    const start = this.pos;
    this.next();
    if (this.peek() !== OPEN) {
      const name = this.processName();
      // A $ not followed by a name is a literal $.
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.options.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const missingBrace = (cause?: unknown): ShellExpansionError =>
      this.fail('E_SHELL_MISSING_BRACE', "syntax error: missing '}'", start, { cause, hint: this.literalDollarHint() });
    const first = this.peek();
    if (first === EOF) throw missingBrace();
    if (first === OPEN || first === CLOSE || first === COLON) {
      throw this.fail('E_SHELL_BAD_SUBSTITUTION', 'syntax error: bad substitution', start, { hint: this.literalDollarHint() });
    }
    const name = this.processName();
    const modifierAt = this.pos;
    const ch = this.next();
    // BuildKit calls this an unsupported modifier U+FFFD; the missing brace is the real problem.
    if (ch === EOF) throw missingBrace();
    if (ch === CLOSE) {
      const value = this.lookup(name);
      if (value === undefined && this.options.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === SLASH) return this.processReplace(name, start, missingBrace);
    if (ch === COLON) return this.processModifier(name, this.next(), true, start, modifierAt, missingBrace);
    return this.processModifier(name, ch, false, start, modifierAt, missingBrace);
  }

  private unsupported(modifier: string, at: number): ShellExpansionError {
    return this.fail('E_SHELL_UNSUPPORTED_MODIFIER', `unsupported modifier (${modifier}) in substitution`, at, {
      hint: 'supported: ${VAR}, ${VAR:-w}, ${VAR-w}, ${VAR:+w}, ${VAR+w}, ${VAR:?w}, ${VAR?w}, ${VAR#p}, ${VAR##p}, ${VAR%p}, ${VAR%%p}, ${VAR/p/r}, ${VAR//p/r}',
    });
  }

  /**
   * Reads a nested word up to `stop`. As in BuildKit, any failure that leaves the whole word
   * used up is reported as the missing delimiter (`onEnd`), with the inner failure as its cause.
   */
  private nested(stop: number, rawEscapes: boolean, onEnd: (cause?: unknown) => ShellExpansionError): string {
    let read: { text: string; closed: boolean };
    try {
      read = this.processUntil(stop, rawEscapes, null);
    } catch (err) {
      if (this.peek() === EOF && err instanceof ShellExpansionError) throw onEnd(err);
      throw err;
    }
    if (!read.closed) throw onEnd();
    return read.text;
  }

  // ${VAR-w} ${VAR+w} ${VAR?w} ${VAR#p} ${VAR%p} and their ':' forms (':' also counts empty as unset).
  private processModifier(
    name: string,
    op: number,
    nullIsUnset: boolean,
    start: number,
    modifierAt: number,
    missingBrace: (cause?: unknown) => ShellExpansionError,
  ): string {
    const modifier = (nullIsUnset ? ':' : '') + str(op);
    const isTrim = op === HASH || op === PERCENT;
    const known = isTrim || op === PLUS || op === MINUS || op === QUESTION;
    // BuildKit rejects ${X=w} before reading w, but reads the word of ${X:=w} first.
    if ((!nullIsUnset && !known) || (nullIsUnset && isTrim)) throw this.unsupported(modifier, modifierAt);
    const wordAt = this.pos;
    // Patterns keep their escapes so that \* stays a literal star for the matcher.
    const word = this.nested(CLOSE, isTrim, missingBrace);
    const value = this.lookup(name);
    if (value === undefined && this.options.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const empty = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case MINUS:
        return empty ? word : value!;
      case PLUS:
        return empty ? '' : word;
      case QUESTION:
        if (empty) {
          const message = word !== '' ? word : value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty';
          throw this.fail('E_SHELL_REQUIRED_VARIABLE', `${name}: ${message}`, start, {
            hint: `set ${name} with ARG or ENV, or pass --build-arg ${name}=VALUE`,
          });
        }
        return value!;
      case HASH:
      case PERCENT: {
        const greedy = word.startsWith(str(op));
        const pattern = greedy ? word.slice(1) : word;
        return this.withPattern(pattern, wordAt, () =>
          op === HASH ? trimPrefix(value ?? '', pattern, greedy) : trimSuffix(value ?? '', pattern, greedy),
        );
      }
      default:
        throw this.unsupported(modifier, modifierAt);
    }
  }

  // ${VAR/pattern/replacement} and ${VAR//pattern/replacement}.
  private processReplace(name: string, start: number, missingBrace: (cause?: unknown) => ShellExpansionError): string {
    const all = this.peek() === SLASH;
    if (all) this.next();
    const patternAt = this.pos;
    const pattern = this.nested(SLASH, true, (cause) =>
      this.fail('E_SHELL_MISSING_SLASH', "syntax error: missing '/' in ${}", start, {
        cause,
        hint: 'the replacement form needs both slashes and the brace: ${VAR/pattern/replacement}',
      }),
    );
    const replacement = this.nested(CLOSE, true, missingBrace);
    const value = this.lookup(name);
    if (value === undefined && this.options.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    return this.withPattern(pattern, patternAt, () => replacePattern(value ?? '', pattern, replacement, all));
  }

  private withPattern(pattern: string, at: number, run: () => string): string {
    try {
      return run();
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      throw this.fail('E_SHELL_INVALID_PATTERN', `invalid pattern (${pattern}) in substitution: ${err.message}`, at, {
        cause: err,
        hint: 'in patterns only *, ? and \\ can be escaped with \\',
      });
    }
  }
}

/**
 * Expands variables, quotes and escapes in one Dockerfile word, as BuildKit's ProcessWord:
 * `expandWord('"$A" b', { A: 'x' })` is `x b`. Throws ShellExpansionError.
 */
export function expandWord(word: string, env: ShellEnv, options: ExpandOptions = {}): string {
  return new WordExpander(word, env, options).expand(null);
}

/**
 * Expands like expandWord, then splits into words on unquoted white space, as BuildKit's
 * ProcessWords: `expandWords('a "b c" $X', { X: 'd e' })` is `['a', 'b c', 'd', 'e']`.
 */
export function expandWords(word: string, env: ShellEnv, options: ExpandOptions = {}): string[] {
  const words = new WordSplitter();
  new WordExpander(word, env, options).expand(words);
  return words.finish();
}

/**
 * Expands like expandWord and reports every variable the word looked up: `matched` were set,
 * `unmatched` were not (BuildKit's ProcessWordWithMatches). A step's cache key depends on exactly
 * the build args in `matched` ∪ `unmatched`.
 */
export function expandWordWithMatches(word: string, env: ShellEnv, options: ExpandOptions = {}): ExpansionWithMatches {
  const expander = new WordExpander(word, env, options);
  const result = expander.expand(null);
  return { result, matched: expander.matched, unmatched: expander.unmatched };
}

/**
 * Expands the body of an unquoted COPY/ADD heredoc (`COPY <<EOF`) the way BuildKit's ExpandRaw
 * does: a lexer of its own with `\\` as escape whatever the `# escape=` directive says, and quotes
 * left alone (SkipProcessQuotes). Throws ShellExpansionError.
 */
export function expandHeredocBody(body: string, env: ShellEnv): string {
  return expandWord(body, env, { escapeToken: '\\', processQuotes: false });
}
