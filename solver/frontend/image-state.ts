import { posix } from 'node:path';
import type { CommandLine, Instruction } from '../../grammar/index.js';
import { healthConfig, type ContainerConfig, type HistoryEntry, type ImageConfig } from '../../oci/index.js';
import { StageVariables } from './args.js';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Go's %q of a []string, the way BuildKit prints CMD/ENTRYPOINT in history: `["a" "b"]`. */
export function goQuotedList(args: readonly string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(' ')}]`;
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

  /**
   * Creation time of the next history entry: the time the last layer of the stage was made (a
   * cached layer keeps its time), so a fully cached rebuild gives a byte-identical config.
   */
  created: string;

  constructor(base: ImageConfig, vars: (env: readonly string[]) => StageVariables, created: string) {
    this.created = created;
    this.config = structuredClone(base);
    this.config.config ??= {};
    this.config.history ??= [];
    this.vars = vars(this.container.Env ?? []);
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
    if (emptyLayer) h.empty_layer = true;
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
        for (const a of ins.args) this.vars.declareArg(a.key, a.value);
        this.addHistory(`ARG ${ins.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`, true);
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
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ins.ports.flatMap(expandPortSpec)) c.ExposedPorts[p] = {};
        // BuildKit's history shows the ports as written (after expansion), not normalised.
        this.addHistory(`EXPOSE ${ins.ports.join(' ')}`, true);
        return true;
      }
      case 'volume': {
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of ins.volumes) c.Volumes[v] = {};
        this.addHistory(`VOLUME [${ins.volumes.join(' ')}]`, true);
        return true;
      }
      case 'cmd':
        c.Cmd = this.argv(ins.command);
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
        c.StopSignal = ins.signal;
        this.addHistory(`STOPSIGNAL ${ins.signal}`, true);
        return true;
      case 'maintainer':
        this.config.author = ins.maintainer;
        this.addHistory(`MAINTAINER ${ins.maintainer}`, true);
        return true;
      case 'onbuild':
        c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
        this.addHistory(`ONBUILD ${ins.expression}`, true);
        return true;
      case 'healthcheck': {
        c.Healthcheck = healthConfig(ins.check);
        this.addHistory(`HEALTHCHECK ${goQuotedList(c.Healthcheck.Test ?? [])}`, true);
        return true;
      }
      case 'workdir':
        c.WorkingDir = posix.resolve(this.workdir, ins.path);
        return true;
      default:
        return false;
    }
  }
}

/** `80` -> `80/tcp`; `8000-8001/udp` -> each port, as docker's nat.ParsePortSpecs. */
export function expandPortSpec(spec: string): string[] {
  const [ports = '', proto = 'tcp'] = spec.split('/');
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  if (!m || !m[2]) return [`${ports}/${proto.toLowerCase()}`];
  const out: string[] = [];
  for (let p = Number(m[1]); p <= Number(m[2]); p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}
