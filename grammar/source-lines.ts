/** Lines of the source on demand (error messages only), without line terminators. */
export function sourceLineReader(text: string): (line: number) => string | undefined {
  let lines: string[] | undefined;
  return (line) => {
    lines ??= (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
    const l = lines[line - 1];
    return l === undefined ? undefined : l.replace(/\r+$/, '');
  };
}
