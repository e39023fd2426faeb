/** A range from /etc/subuid or /etc/subgid: `count` host ids from `start` on. */
export interface IdRange {
  start: number;
  count: number;
}

function entries(text: string): { owner: string; start: number; count: number }[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(':'))
    .filter((f) => f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!) && Number(f[2]) > 0)
    .map(([owner, start, count]) => ({ owner: owner!, start: Number(start), count: Number(count) }));
}

/** The ranges an /etc/subuid or /etc/subgid text gives a user, named by login name or number (as newuidmap reads it). */
export function subordinateRanges(text: string, name: string, id: number): IdRange[] {
  return entries(text)
    .filter((e) => e.owner === name || e.owner === String(id))
    .map(({ start, count }) => ({ start, count }));
}

/** The first id above every range in these files (100000 at least, as useradd starts): where a new range fits. */
export function firstFreeId(...texts: string[]): number {
  return texts.flatMap(entries).reduce((top, e) => Math.max(top, e.start + e.count), 100_000);
}

/**
 * newuidmap/newgidmap arguments mapping `self` to 0 and the ranges, one after another, to 1 on:
 * root in the namespace is the user, every other id a subordinate one.
 */
export function mapArguments(self: number, ranges: IdRange[]): string[] {
  const args = ['0', String(self), '1'];
  let inside = 1;
  for (const r of ranges) {
    args.push(String(inside), String(r.start), String(r.count));
    inside += r.count;
  }
  return args;
}
