import { DockerfileError } from '../../common/errors.js';
import { parseSingleInstruction } from '../../grammar/index.js';
import { ChangeError } from './errors.js';
import { healthConfig } from './health.js';
import type { ContainerConfig } from './types.js';

/**
 * Applies `docker import --change` / `docker commit --change` instructions (Dockerfile syntax, one
 * instruction each) to a container config, returning a new config.
 */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  let out: ContainerConfig = structuredClone(config);
  for (const change of changes) out = applyChange(out, change);
  return out;
}

function applyChange(c: ContainerConfig, change: string): ContainerConfig {
  const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
  if (!m) throw new ChangeError(change, 'expected INSTRUCTION ARGUMENTS');
  const instr = m[1]!.toUpperCase();
  const rest = (m[2] ?? '').trim();
  switch (instr) {
    case 'CMD':
      c.Cmd = commandForm(change, rest);
      return c;
    case 'ENTRYPOINT':
      c.Entrypoint = commandForm(change, rest);
      return c;
    case 'SHELL': {
      const json = jsonArray(rest);
      if (!json) throw new ChangeError(change, 'SHELL needs a JSON array');
      c.Shell = json;
      return c;
    }
    case 'ENV':
      for (const [k, v] of keyValues(change, rest, 'ENV')) setEnv(c, k, v);
      return c;
    case 'LABEL':
      c.Labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of keyValues(change, rest, 'LABEL')) c.Labels[k] = v;
      return c;
    case 'EXPOSE':
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of words(change, rest)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
      return c;
    case 'VOLUME': {
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of jsonArray(rest) ?? words(change, rest)) c.Volumes[v] = {};
      return c;
    }
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL': {
      if (!rest) throw new ChangeError(change, `${instr} needs an argument`);
      const [value] = words(change, rest);
      if (instr === 'USER') c.User = value!;
      else if (instr === 'WORKDIR') c.WorkingDir = value!;
      else c.StopSignal = value!;
      return c;
    }
    case 'HEALTHCHECK': {
      // Flags and durations exactly as a Dockerfile's HEALTHCHECK, which is what docker applies.
      let parsed;
      try {
        parsed = parseSingleInstruction(change, { file: '--change' });
      } catch (e) {
        if (e instanceof DockerfileError) throw new ChangeError(change, e.message, e);
        throw e;
      }
      if (parsed.kind !== 'healthcheck') throw new ChangeError(change, 'expected one HEALTHCHECK instruction');
      c.Healthcheck = healthConfig(parsed.check);
      return c;
    }
    case 'ONBUILD':
      if (!rest) throw new ChangeError(change, 'ONBUILD needs an instruction');
      c.OnBuild = [...(c.OnBuild ?? []), rest];
      return c;
    default:
      throw new ChangeError(change, `${instr} cannot be changed this way`);
  }
}

function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // Not JSON: Dockerfile semantics treat it as shell form.
  }
  return undefined;
}

function commandForm(change: string, rest: string): string[] {
  if (!rest) throw new ChangeError(change, 'needs a command');
  return jsonArray(rest) ?? ['/bin/sh', '-c', rest];
}

function setEnv(c: ContainerConfig, key: string, value: string): void {
  const env = (c.Env ?? []).filter((e) => e.split('=')[0] !== key);
  env.push(`${key}=${value}`);
  c.Env = env;
}

/** Splits on unquoted whitespace, removing quotes and backslash escapes. */
function words(change: string, s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ChangeError(change, 'unterminated quote');
  if (inWord) out.push(cur);
  return out;
}

/** `K=V K2="v 2"`, or the legacy `K V...` form (a single pair, value is the rest). */
function keyValues(change: string, rest: string, instr: string): [string, string][] {
  const ws = words(change, rest);
  if (ws.length === 0) throw new ChangeError(change, `${instr} needs arguments`);
  if (!ws[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw new ChangeError(change, `${instr} ${ws[0]} needs a value`);
    return [[m[1]!, words(change, m[2]!).join(' ')]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new ChangeError(change, `expected KEY=VALUE, got "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
