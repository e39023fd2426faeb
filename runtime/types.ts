import type { ExtraHost } from './extra-hosts.js';
import type { OciMount } from './spec.js';
import type { ResolvedUser } from './users.js';
import type { Readable, Writable } from 'node:stream';
import type { TerminalSize } from './tty-relay.js';

/** Where a `type=secret` value comes from: `--secret id=ID,src=FILE` or `--secret id=ID,env=VAR`. */
export interface SecretSource {
  id: string;
  file?: string;
  env?: string;
  /** The value itself, as a daemon gets it from its client for one build (held in memory only). */
  value?: Buffer;
}

/** A mount for one execution, as a RUN `--mount` (or `kiln run -v`) asks for it. */
export type RuntimeMount =
  | {
      type: 'bind';
      /** Host directory or file, already resolved by the caller (build context, another stage...). */
      source: string;
      target: string;
      readonly: boolean;
      /** Writes go to a throw-away overlay instead of `source` (BuildKit's `rw` bind). */
      discardWrites?: boolean;
    }
  | { type: 'tmpfs'; target: string; sizeBytes?: number }
  | {
      type: 'cache';
      /** Cache identity; BuildKit defaults it to the target path. */
      id: string;
      target: string;
      sharing?: 'shared' | 'private' | 'locked';
      uid?: number;
      gid?: number;
      mode?: number;
      readonly?: boolean;
      /** A new, empty cache for this container alone (a step run with --no-cache), not the kept one. */
      throwAway?: boolean;
      /** A directory whose contents a cache made now starts with (`from=`, `source=`), its owner and mode too. */
      seed?: string;
    }
  | { type: 'secret'; id: string; target?: string; required?: boolean; uid?: number; gid?: number; mode?: number }
  | { type: 'ssh'; id?: string; target?: string };

export type NetworkMode = 'host' | 'none';

/** `sandbox`: Docker's default confinement. `insecure`: BuildKit's security.insecure entitlement. */
export type SecurityMode = 'sandbox' | 'insecure';

export type StdinSource = Readable | 'inherit' | 'ignore';
export type OutputSink = Writable | 'inherit' | 'ignore';

export interface ExecOptions {
  stateRoot: string;
  /** The container's root directory, usually a snapshot's `rootfs`. */
  rootfs: string;
  args: string[];
  /** `KEY=VALUE` entries; PATH gets Docker's default when missing. */
  env?: string[];
  cwd?: string;
  /** Docker USER syntax, resolved against the rootfs' /etc/passwd and /etc/group. */
  user?: string;
  /** The user already resolved (from the lower dirs of a `rootMount`): `user` is not looked up then. */
  resolvedUser?: ResolvedUser;
  /**
   * An overlay runc mounts over `rootfs` as the container's first mount (createContainerSnapshot).
   * No mount point is made in `rootfs` first: the caller has checked that all of them exist in it.
   */
  rootMount?: OciMount;
  hostname?: string;
  /** Lines `--add-host` adds to the container's /etc/hosts. */
  extraHosts?: readonly ExtraHost[];
  /** `host` (the default, like BuildKit without CNI) or `none` (own empty network namespace). */
  network?: NetworkMode;
  mounts?: RuntimeMount[];
  /** Secrets `type=secret` mounts may use, by id. */
  secrets?: ReadonlyMap<string, SecretSource>;
  stdin?: StdinSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** Aborting kills the container; exec then rejects with E_RUNTIME_ABORTED. */
  signal?: AbortSignal;
  /** Kills the container after this long; exec then rejects with E_RUNTIME_TIMEOUT. */
  timeoutMs?: number;
  /** Pass SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 received by kiln on to the container (`kiln run`). */
  forwardSignals?: boolean;
  /**
   * With forwardSignals: after a forwarded SIGTERM or SIGHUP, how long the container may take to
   * exit before it is killed (default 10 s, as docker stop), since a pid 1 may ignore the signal.
   */
  stopGraceMs?: number;
  /**
   * Called once runc runs, with a way to send the container a signal (the daemon's stop and
   * kill) and, with `relayTty`, to resize its terminal.
   */
  onStart?: (sendSignal: (signal: NodeJS.Signals) => void, resize?: (size: TerminalSize) => Promise<void>) => void;
  /**
   * Give the process a pseudo-terminal (`kiln run -t`). runc allocates it and relays it to kiln's
   * own stdin/stdout, which must then be the user's terminal: stdout and stderr are inherited.
   */
  tty?: boolean;
  /**
   * Give the process a pseudo-terminal of this size relayed through `stdin` and `stdout` (the
   * daemon's `docker run -t`, where kiln has no terminal of its own to share).
   */
  relayTty?: TerminalSize;
  /** Default `sandbox`. */
  security?: SecurityMode;
  /** `CAP_*` names granted on top of the defaults. */
  capAdd?: readonly string[];
  /**
   * Takes the removal of the container's bundle dir, begun once the container is gone, for the
   * caller to wait for later (a build's next step need not wait); without it exec removes the
   * dir before it returns.
   */
  removeLater?: (removal: Promise<void>) => void;
  /** Shown by `kiln ps`. */
  name?: string;
  image?: string;
}

export interface ExecResult {
  exitCode: number;
  containerId: string;
}

export interface Snapshot {
  id: string;
  /** The merged view to use as a container root. */
  rootfs: string;
  /** Everything written in `rootfs`, in overlay form (whiteouts are 0/0 char devices, opaque dirs carry trusted.overlay.opaque). */
  upperDir: string;
  /** Unmounts `rootfs`; `upperDir` stays, stable, for the layer writer. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and moves `upperDir` to `dest` (same filesystem, e.g. the store's extracted-layer dir), then cleans up. */
  keepUpper(dest: string): Promise<void>;
  /** Unmounts and removes everything. Idempotent. */
  release(): Promise<void>;
}

export interface CreateSnapshotOptions {
  stateRoot: string;
  /** Extracted layers, bottom-most (base image) first, as in an image manifest. */
  lowerDirs: string[];
  /** The rootfs of a container (RUN, kiln run): runc's standard mount points exist in it without being written to it. */
  container?: boolean;
}

export interface ContainerInfo {
  id: string;
  name: string | undefined;
  image: string | undefined;
  command: string[];
  created: Date;
  pid: number;
  status: string;
}
