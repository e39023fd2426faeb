import { isIP } from 'node:net';
import { posix } from 'node:path';
import { goQuote, type CommandLine, type Instruction } from '../../grammar/index.js';
import { healthConfig, type ContainerConfig, type HealthConfig, type HistoryEntry, type ImageConfig } from '../../oci/index.js';
import { StageVariables } from './args.js';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Go's %q of a []string, the way BuildKit prints CMD/ENTRYPOINT in history: `["a" "b"]`. */
export function goQuotedList(args: readonly string[]): string {
  return `[${args.map(goQuote).join(' ')}]`;
}

/**
 * The image a stage is producing, step by step: its config (env, cmd, labels...) and history,
 * plus the stage's ARG/ENV scope. Layers are tracked by the executor alongside.
 */
export class ImageState {
  readonly config: ImageConfig;
  readonly vars: StageVariables;
  /** CMD was set in this stage, so a later ENTRYPOINT keeps it. */
  private cmdSet = false;
  /** The stage's config-only history entries made before its first layer (none once it has one). */
  private leading: HistoryEntry[] | undefined = [];

  /**
   * Creation time of the next history entry: the time the last layer of the stage was made (a
   * cached layer keeps its time), so a fully cached rebuild gives a byte-identical config.
   */
  created: string;

  /**
   * `pending`: how many of the base's last history entries are config-only ones this build made
   * before any layer (a base stage that made none): they too take this stage's first layer's time.
   */
  constructor(base: ImageConfig, vars: (env: readonly string[]) => StageVariables, created: string, pending = 0) {
    this.created = created;
    this.config = structuredClone(base);
    this.config.config ??= {};
    this.config.history ??= [];
    this.leading = pending > 0 ? this.config.history.slice(-pending) : [];
    this.vars = vars(this.container.Env ?? []);
  }

  /** The config-only entries still waiting for a layer's time (for a stage built FROM this one). */
  get pendingHistory(): number {
    return this.leading?.length ?? 0;
  }

  get container(): ContainerConfig {
    return this.config.config!;
  }

  get shell(): string[] {
    return this.container.Shell ?? DEFAULT_SHELL;
  }

  get workdir(): string {
    return this.container.WorkingDir || '/';
  }

  /** The argv for a shell- or exec-form command line. */
  argv(cmd: CommandLine): string[] {
    return cmd.form === 'exec' ? cmd.args : [...this.shell, cmd.text];
  }

  addHistory(createdBy: string, emptyLayer: boolean): void {
    const h: HistoryEntry = { created: this.created, created_by: createdBy, comment: HISTORY_COMMENT };
    if (emptyLayer) {
      h.empty_layer = true;
      this.leading?.push(h);
    } else {
      // BuildKit's normalizeLayersAndHistory: the config-only entries before the stage's first
      // layer take that layer's time, not the base image's ("the history item for a first
      // metadata command would be the creation time of a base image layer" otherwise).
      for (const e of this.leading ?? []) e.created = this.created;
      this.leading = undefined;
    }
    this.config.history!.push(h);
  }

  /**
   * Applies an instruction that only changes the config (already expanded). Returns false for
   * instructions that make layers (RUN, COPY, ADD) or are handled elsewhere (FROM, ONBUILD
   * triggers), so the caller runs those.
   */
  applyMetadata(ins: Instruction): boolean {
    const c = this.container;
    switch (ins.kind) {
      case 'env': {
        for (const p of ins.pairs) this.vars.setEnv(p.key, p.value);
        c.Env = this.vars.imageEnv();
        this.addHistory(`ENV ${ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, true);
        return true;
      }
      case 'arg': {
        // History shows the value each ARG resolved to (--build-arg, default or global), as BuildKit's dispatchArg.
        const shown = ins.args.map((a) => {
          const value = this.vars.declareArg(a.key, a.value);
          return value === undefined ? a.key : `${a.key}=${value}`;
        });
        this.addHistory(`ARG ${shown.join(' ')}`, true);
        return true;
      }
      case 'label': {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const p of ins.pairs) c.Labels[p.key] = p.value;
        this.addHistory(`LABEL ${ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, true);
        return true;
      }
      case 'user':
        c.User = ins.user;
        this.addHistory(`USER ${ins.user}`, true);
        return true;
      case 'expose': {
        const ports = ins.ports.flatMap(expandPortSpec);
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) c.ExposedPorts[p] = {};
        // BuildKit's dispatchExpose: `EXPOSE %v` of the normalised ports in the order of the words,
        // which parseExpose sorted as written, repeats kept (`EXPOSE 2375 5000 1234/udp` is
        // `EXPOSE [1234/udp 2375/tcp 5000/tcp]`, testExportedHistory; `EXPOSE 8080 80-81` is
        // `EXPOSE [80/tcp 81/tcp 8080/tcp]`).
        this.addHistory(`EXPOSE [${ports.join(' ')}]`, true);
        return true;
      }
      case 'volume': {
        // Checked again after expansion: `VOLUME $UNSET` fails in BuildKit's dispatchVolume too.
        if (ins.volumes.includes('')) throw new ConfigValueError('VOLUME specified can not be an empty string');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of ins.volumes) c.Volumes[v] = {};
        this.addHistory(`VOLUME [${ins.volumes.join(' ')}]`, true);
        return true;
      }
      case 'cmd':
        c.Cmd = this.argv(ins.command);
        // BuildKit's dispatchCmd marks every CMD this way (exec form too); ENTRYPOINT does not.
        c.ArgsEscaped = true;
        this.cmdSet = true;
        this.addHistory(`CMD ${goQuotedList(c.Cmd)}`, true);
        return true;
      case 'entrypoint':
        c.Entrypoint = this.argv(ins.command);
        if (!this.cmdSet) c.Cmd = null;
        this.addHistory(`ENTRYPOINT ${goQuotedList(c.Entrypoint)}`, true);
        return true;
      case 'shell':
        c.Shell = [...ins.shell];
        this.addHistory(`SHELL [${ins.shell.join(' ')}]`, true);
        return true;
      case 'stopsignal':
        if (!validSignal(ins.signal)) throw new ConfigValueError(`invalid signal: ${ins.signal}`);
        c.StopSignal = ins.signal;
        this.addHistory(`STOPSIGNAL ${ins.signal}`, true);
        return true;
      case 'maintainer':
        this.config.author = ins.maintainer;
        this.addHistory(`MAINTAINER ${ins.maintainer}`, true);
        return true;
      case 'onbuild':
        // BuildKit's dispatchOnbuild only records the trigger: no history entry.
        c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
        return true;
      case 'healthcheck': {
        c.Healthcheck = healthConfig(ins.check);
        this.addHistory(`HEALTHCHECK ${healthHistory(c.Healthcheck)}`, true);
        return true;
      }
      case 'workdir':
        c.WorkingDir = normalizeWorkdir(this.workdir, ins.path);
        return true;
      default:
        return false;
    }
  }
}

/**
 * BuildKit's system.NormalizeWorkdir on Linux: a relative path is joined to the current one and
 * cleaned; an absolute one is kept as written (`WORKDIR /app/` gives WorkingDir `/app/`).
 */
export function normalizeWorkdir(current: string, wd: string): string {
  let parent = current || '/';
  if (!parent.startsWith('/')) parent = posix.resolve('/', parent);
  if (wd === '') wd = parent;
  return wd.startsWith('/') ? wd : posix.resolve(parent, wd);
}

/**
 * One EXPOSE word as BuildKit's parsePort reads it: `80` -> `80/tcp`, `8000-8001/UDP` -> each
 * port of the range, `[ip:]hostPort:containerPort/proto` -> the container port(s) only.
 * Bad words are errors, as they fail the build in BuildKit.
 */
export function expandPortSpec(spec: string): string[] {
  const parts = spec.split(':');
  const containerPart = parts[parts.length - 1]!;
  const hostPort = parts.length >= 2 ? parts[parts.length - 2]! : '';
  // BuildKit's splitParts/parsePortSpec: what is before the host port must be an IP address ([v6] allowed).
  let ip = parts.length >= 3 ? parts.slice(0, -2).join(':') : '';
  if (ip.startsWith('[')) {
    const close = ip.indexOf(']');
    if (close < 0 || close !== ip.length - 1) throw new ConfigValueError(`invalid IP address ${ip}`);
    ip = ip.slice(1, close);
  }
  if (ip !== '' && isIP(ip) === 0) throw new ConfigValueError(`invalid IP address: ${ip}`);
  const slash = containerPart.indexOf('/');
  const port = slash < 0 ? containerPart : containerPart.slice(0, slash);
  const rawProto = slash < 0 ? '' : containerPart.slice(slash + 1);
  if (port === '') throw new ConfigValueError(`invalid port: "${spec}": no port specified`);
  const proto = rawProto.toLowerCase() || 'tcp';
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new ConfigValueError(`invalid port: "${spec}": invalid proto: ${rawProto}`);
  const range = portRange(port);
  if (!range) throw new ConfigValueError(`invalid containerPort: ${port}`);
  if (hostPort !== '') {
    const host = portRange(hostPort);
    if (!host) throw new ConfigValueError(`invalid hostPort: ${hostPort}`);
    if (range[1] - range[0] !== host[1] - host[0] && range[1] !== range[0]) {
      throw new ConfigValueError(`invalid ranges specified for container and host Ports: ${port} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = range[0]; p <= range[1]; p++) out.push(`${p}/${proto}`);
  return out;
}

/** A config instruction BuildKit rejects once its words are expanded (bad EXPOSE port, STOPSIGNAL, empty VOLUME). */
export class ConfigValueError extends Error {}

const SIGNALS = new Set([
  ...'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX'.split(' '),
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** moby/sys/signal.ParseSignal on Linux: a non-zero number, or a name with or without SIG, any case. */
export function validSignal(raw: string): boolean {
  if (/^[+-]?\d+$/.test(raw)) return Number(raw) !== 0;
  return SIGNALS.has(raw.toUpperCase().replace(/^SIG/, ''));
}

/** Go's strconv.ParseUint(s, 10, 16): digits only, no sign. */
function portNumber(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 0 && n <= 65535 ? n : undefined;
}

function portRange(ports: string): [number, number] | undefined {
  const dash = ports.indexOf('-');
  const start = portNumber(dash < 0 ? ports : ports.slice(0, dash));
  if (start === undefined) return undefined;
  if (dash < 0 || ports.slice(0, dash) === ports.slice(dash + 1)) return [start, start];
  const end = portNumber(ports.slice(dash + 1));
  if (end === undefined || end < start) return undefined;
  return [start, end];
}

/** Go's time.Duration.String(): `0s`, `500ms`, `1.5s`, `2m0s`, `1h0m0s`. */
export function goDuration(ns: number): string {
  let u = BigInt(Math.trunc(ns));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < 1_000_000_000n) {
    if (u === 0n) return '0s';
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) out = `${fraction(u, 3)}µs`;
    else out = `${fraction(u, 6)}ms`;
  } else {
    const secs = u / 1_000_000_000n;
    const frac = fractionDigits(u % 1_000_000_000n, 9);
    out = `${secs % 60n}${frac}s`;
    const mins = secs / 60n;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

function fraction(u: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  return `${u / scale}${fractionDigits(u % scale, digits)}`;
}

function fractionDigits(rest: bigint, digits: number): string {
  if (rest === 0n) return '';
  return `.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** BuildKit's `HEALTHCHECK %+v` of the config: `{Test:[CMD-SHELL true] Interval:5s ... Retries:0}`. */
export function healthHistory(h: HealthConfig): string {
  const d = (v: number | undefined) => goDuration(v ?? 0);
  return `{Test:[${(h.Test ?? []).join(' ')}] Interval:${d(h.Interval)} Timeout:${d(h.Timeout)} StartPeriod:${d(h.StartPeriod)} StartInterval:${d(h.StartInterval)} Retries:${h.Retries ?? 0}}`;
}
