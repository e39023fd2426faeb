import type { Platform } from '../../oci/index.js';

/** Predefined proxy args: usable with --build-arg without an ARG line, and never written to history. */
const PROXY_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'];
export const PROXY_ARGS: ReadonlySet<string> = new Set(
  PROXY_NAMES.flatMap((k) => [k, k.toLowerCase()]),
);

/**
 * ARGs BuildKit's dispatchArg never adds to the state env (nonEnvArgs): not in a RUN's
 * environment, and `$X` does not expand to them.
 */
const NON_ENV_ARGS: ReadonlySet<string> = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

function platformString(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * BuildKit's automatic platform args. They are in scope for FROM lines; a stage sees one only
 * after declaring it with a value-less `ARG`, exactly like a global ARG.
 */
export function automaticArgs(target: Platform, build: Platform = target): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', platformString(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', platformString(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** `--build-arg` values the frontend acts on: BUILDKIT_* are options for BuildKit itself, not args. */
export function userBuildArgs(buildArgs: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...buildArgs].filter(([k]) => !k.startsWith('BUILDKIT_')));
}

export interface ArgValue {
  key: string;
  value: string | undefined;
}

/**
 * The variables of one stage as BuildKit tracks them: ARGs declared so far (with the value they
 * resolved to), the ENV of the image being built, and what BuildKit's LLB state holds, which is
 * what `$X` expands to and what RUN sees: one map where the image env, every ENV and every ARG
 * that has a value are set in order, the last one winning. So an ENV after an ARG of the same
 * name wins over it, and an ARG with a value after an ENV (or the base image's env) wins over
 * that for the rest of the stage, though the image's Env keeps the ENV value (dispatchArg's
 * `d.state.AddEnv`).
 */
export class StageVariables {
  /** Declared ARGs in declaration order; a redeclaration replaces the value in place. */
  private readonly args = new Map<string, string | undefined>();
  private readonly env: Map<string, string>;
  /** BuildKit's state env: image env, ENVs and ARGs with a value, in order, the last write winning. */
  private readonly state = new Map<string, string>();

  constructor(
    private readonly buildArgs: ReadonlyMap<string, string>,
    /** Global ARG values (and the automatic platform args) a value-less stage ARG inherits. */
    private readonly globals: ReadonlyMap<string, string | undefined>,
    imageEnv: readonly string[],
    /** ARGs of the stage this one is built FROM, still in scope here (BuildKit's dispatchState.init). */
    inherited: readonly ArgValue[] = [],
  ) {
    this.env = new Map(imageEnv.map(splitEnv));
    // A stage built FROM another starts from that stage's state, and then BuildKit applies the
    // image's Env over it again (dispatchStages): the inherited ARGs, then the image env.
    for (const a of inherited) {
      this.args.set(a.key, a.value);
      if (a.value !== undefined && !NON_ENV_ARGS.has(a.key)) this.state.set(a.key, a.value);
    }
    for (const [k, v] of this.env) this.state.set(k, v);
  }

  /** Whether `--build-arg key` gives the value, so the ARG's default is never evaluated. */
  overridden(key: string): boolean {
    return this.buildArgs.has(key);
  }

  /**
   * Declares `ARG key[=default]`; `expandedDefault` is the default already expanded in this scope.
   * Returns the value this declaration gives (for history). One that gives none leaves a value
   * the variable already has in scope, as BuildKit only sets the variable when there is a value;
   * one that gives a value sets it over an ENV of the same name until a later ENV sets it again.
   */
  declareArg(key: string, expandedDefault: string | undefined): string | undefined {
    let value = this.buildArgs.get(key);
    if (value === undefined) value = expandedDefault ?? this.globals.get(key);
    this.args.set(key, value ?? this.args.get(key));
    if (value !== undefined && !NON_ENV_ARGS.has(key)) this.state.set(key, value);
    return value;
  }

  /** The declared ARGs with the values they hold, for a stage built FROM this one. */
  scopeArgs(): ArgValue[] {
    return [...this.args].map(([key, value]) => ({ key, value }));
  }

  setEnv(key: string, value: string): void {
    this.env.set(key, value);
    this.state.set(key, value);
  }

  /** What `$X` in an expanded instruction sees. */
  expansionEnv(): Map<string, string> {
    return new Map(this.state);
  }

  /** The image config's Env. */
  imageEnv(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }

  /** Declared ARGs, for history (`RUN |1 FOO=bar ...`) and cache keys, with the value in scope (BuildKit's runCommandString). */
  declaredArgs(): ArgValue[] {
    return [...this.args].map(([key, value]) => ({ key, value: this.state.get(key) ?? value }));
  }

  /** A RUN process's environment: the image env's names, then declared args that have a value, each with the value in scope. */
  runEnv(): string[] {
    const out = [...this.env.keys()].map((k) => `${k}=${this.state.get(k)}`);
    for (const k of this.args.keys()) if (!this.env.has(k) && this.state.has(k)) out.push(`${k}=${this.state.get(k)}`);
    return out;
  }

  /**
   * Proxy args given with --build-arg: in the RUN environment but not in history or cache keys,
   * under both spellings whichever one was given (BuildKit's ProxyEnv: http_proxy sets HTTP_PROXY too).
   */
  proxyEnv(): string[] {
    const out: string[] = [];
    for (const upper of PROXY_NAMES) {
      const lower = upper.toLowerCase();
      for (const [k, other] of [[upper, lower], [lower, upper]] as const) {
        const v = this.buildArgs.get(k) ?? this.buildArgs.get(other);
        if (v !== undefined && !this.state.has(k)) out.push(`${k}=${v}`);
      }
    }
    return out;
  }
}

export function splitEnv(entry: string): [string, string] {
  const i = entry.indexOf('=');
  return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
}
