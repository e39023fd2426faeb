// Go's unicode.IsSpace is exactly the Unicode White_Space property (JS \s differs: it
// includes U+FEFF and misses U+0085).
const WHITE_SPACE = /^\p{White_Space}$/u;

export function isShellSpace(ch: string): boolean {
  return WHITE_SPACE.test(ch);
}

/**
 * Splits expanded text into words the way BuildKit's ProcessWords does: unquoted text and
 * variable values split on white space, quoted and escaped text never does.
 */
export class WordSplitter {
  private current = '';
  private inWord = false;
  private readonly words: string[] = [];

  /** Unquoted text: white space ends the current word. */
  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addChar(ch: string): void {
    if (isShellSpace(ch)) {
      if (this.inWord && this.current.length > 0) {
        this.words.push(this.current);
        this.current = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }

  /** Quoted or escaped text: kept whole, even its white space. */
  addRaw(text: string): void {
    this.current += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.current.length > 0) {
      this.words.push(this.current);
      this.current = '';
      this.inWord = false;
    }
    return this.words;
  }
}
