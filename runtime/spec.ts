import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './capabilities.js';
import type { ResolvedUser } from './users.js';
import type { NetworkMode, SecurityMode } from './types.js';
import { seccompProfile } from './seccomp.js';
import type { TerminalSize } from './tty-relay.js';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface SpecInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  hostname: string;
  network: NetworkMode;
  /** Host files bound at /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConfFile: string;
  /** Extra mounts (RUN --mount, -v), placed after the standard ones. */
  mounts: OciMount[];
  /** The overlay runc mounts over `rootfs` before anything else (createContainerSnapshot). */
  rootMount?: OciMount;
  /** runc gives the process a pseudo-terminal (`kiln run -t`). */
  terminal?: boolean;
  /**
   * That terminal's size from the start. runc otherwise sizes it from its own terminal only once
   * the process runs, which a quick `stty size` can beat (and see 0x0).
   */
  consoleSize?: TerminalSize;
  /** `sandbox` (the default) or `insecure`: every capability, no seccomp, nothing masked. */
  security?: SecurityMode;
  /** `CAP_*` names granted on top of the defaults (`kiln run --cap-add`). */
  capAdd?: readonly string[];
  /**
   * The capabilities kiln itself can pass on (its bounding set; default all): insecure mode grants
   * these, and others asked for (`--cap-add ALL`) are left out, as runc could not grant them.
   */
  boundingSet?: readonly string[];
  /** Whether the seccomp filter judges x32 syscalls too (seccomp.ts kernelRunsX32); by default, as the kernel says. */
  x32?: boolean;
  /**
   * kiln runs in a user namespace (rootless): sysfs can only be mounted in a network namespace that
   * namespace owns, so the host's /sys is bound instead, read-only all the way down, as runc's
   * rootless spec and podman with the host network do.
   */
  userNamespace?: boolean;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** moby oci/defaults.go: kernel interfaces hidden from containers. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The OCI runtime spec for one container, shaped like Docker's defaults: its capabilities, seccomp
 * profile, masked paths and read-only /sys. `security: 'insecure'` is BuildKit's insecure mode
 * (like `docker run --privileged`): every capability kiln has, no seccomp, /proc and /sys unmasked and
 * writable, every device allowed.
 */
export function buildSpec(input: SpecInput): object {
  const insecure = input.security === 'insecure';
  const wanted = insecure ? ALL_CAPABILITIES : [...new Set([...DEFAULT_CAPABILITIES, ...(input.capAdd ?? [])])];
  const caps = input.boundingSet ? wanted.filter((c) => input.boundingSet!.includes(c)) : wanted;
  const sysOptions = insecure ? ['nosuid', 'noexec', 'nodev'] : ['nosuid', 'noexec', 'nodev', 'ro'];
  const env = input.env.some((e) => e.startsWith('PATH=')) ? [...input.env] : [`PATH=${DEFAULT_PATH}`, ...input.env];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${input.user.home}`);
  // As docker does for -t: programs decide from TERM whether and how to draw on the terminal.
  if (input.terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network === 'none') namespaces.push({ type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal ?? false,
      ...(input.terminal && input.consoleSize ? { consoleSize: { height: input.consoleSize.rows, width: input.consoleSize.cols } } : {}),
      user: { uid: input.user.uid, gid: input.user.gid, ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}) },
      args: input.args,
      env,
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: !insecure,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts: [
      ...(input.rootMount ? [input.rootMount] : []),
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      ...(input.userNamespace
        ? [{ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ...(insecure ? [] : ['rro'])] }]
        : [
            { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
            { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: sysOptions },
          ]),
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: input.resolvConfFile, options: ['rbind', 'rprivate'] },
      { destination: '/etc/hosts', type: 'bind', source: input.hostsFile, options: ['rbind', 'rprivate'] },
      ...input.mounts,
    ],
    linux: {
      namespaces,
      maskedPaths: insecure ? [] : MASKED_PATHS,
      readonlyPaths: insecure ? [] : READONLY_PATHS,
      resources: { devices: [{ allow: insecure, access: 'rwm' }] },
      ...(insecure ? {} : { seccomp: seccompProfile(caps, process.arch, input.x32) }),
    },
  };
}
