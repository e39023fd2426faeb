/** The option closest to `word` within `maxEdits` edits (Levenshtein), for a "did you mean". */
export function closest(word: string, options: Iterable<string>, maxEdits = 2): string | undefined {
  let best: string | undefined;
  let bestD = maxEdits + 1;
  for (const option of options) {
    const d = editDistance(word, option);
    if (d < bestD) {
      bestD = d;
      best = option;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
