/** One `WWW-Authenticate` challenge: `Bearer realm="..",service="..",scope=".."`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header value (RFC 7235), which may hold several challenges
 * separated by commas that are also used between parameters.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*(?:,\s*)*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+|$)/y;
  const param = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
  let pos = 0;
  while (pos < header.length) {
    re.lastIndex = pos;
    const m = re.exec(header);
    if (!m) break;
    pos = re.lastIndex;
    const challenge: Challenge = { scheme: m[1]!.toLowerCase(), params: {} };
    for (;;) {
      param.lastIndex = pos;
      const p = param.exec(header);
      // A bare token followed by a space starts the next challenge, not a parameter.
      if (!p) break;
      challenge.params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
      pos = param.lastIndex;
    }
    out.push(challenge);
    if (re.lastIndex === 0) break;
  }
  return out;
}
