/** Go's time.ParseDuration, in nanoseconds; undefined if `s` is not a Go duration. */
export function parseGoDuration(s: string): number | undefined {
  const unitNs: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  const re = /^(\d*)(?:\.(\d*))?([a-z\u00b5\u03bc]+)/;
  while (rest !== '') {
    const m = re.exec(rest);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = unitNs[m[3]!];
    if (unit === undefined) return undefined;
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}0`) * unit;
    rest = rest.slice(m[0].length);
  }
  // Go's durations are int64 nanoseconds: one past that is an invalid duration, not a wrapped one.
  if (total >= 2 ** 63) return undefined;
  return sign * Math.round(total);
}

/** docker/go-units RAMInBytes (`64m`, `1.5GiB`, `512`): binary multiples; undefined if invalid. */
export function parseRamBytes(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) return undefined;
  const size = Number.parseFloat(m[1]!);
  if (!Number.isFinite(size)) return undefined;
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.trunc(size * 1024 ** exp);
}
