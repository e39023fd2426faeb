import { KilnError } from '../common/errors.js';
import type { ResolvedUser } from './users.js';
import type { NetworkMode, SecurityMode } from './types.js';
import { seccompProfile } from './seccomp.js';

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
  /** runc gives the process a pseudo-terminal (`kiln run -t`). */
  terminal?: boolean;
  /** `sandbox` (the default) or `insecure`: every capability, no seccomp, nothing masked. */
  security?: SecurityMode;
  /** `CAP_*` names granted on top of the defaults (`kiln run --cap-add`). */
  capAdd?: readonly string[];
}

/**
 * `NET_RAW`, `cap_net_raw` or `CAP_NET_RAW` as runc names it; `ALL` is every capability.
 * Throws on a name that is not a capability.
 */
export function parseCapabilities(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const upper = name.toUpperCase();
    if (upper === 'ALL') {
      out.push(...ALL_CAPABILITIES);
      continue;
    }
    const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (!ALL_CAPABILITIES.includes(cap)) throw new KilnError('E_RUNTIME_CAPABILITY', `unknown capability "${name}"`, { hint: 'use a name from capabilities(7), e.g. NET_RAW or SYS_PTRACE' });
    out.push(cap);
  }
  return out;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Docker's default capability set (moby oci/caps defaults) without CAP_NET_RAW: no raw sockets
 * unless granted (`kiln run --cap-add NET_RAW`). ping still works where the kernel allows ICMP
 * datagram sockets (net.ipv4.ping_group_range).
 */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

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

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), the last one runc 1.1 knows. */
export const ALL_CAPABILITIES = `CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE
MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE`
  .split(/\s+/)
  .map((c) => `CAP_${c}`);

/**
 * The OCI runtime spec for one container, shaped like Docker's defaults: its capabilities, seccomp
 * profile, masked paths and read-only /sys. `security: 'insecure'` is BuildKit's insecure mode
 * (like `docker run --privileged`): all capabilities, no seccomp, /proc and /sys unmasked and
 * writable, every device allowed.
 */
export function buildSpec(input: SpecInput): object {
  const insecure = input.security === 'insecure';
  const caps = insecure ? [...ALL_CAPABILITIES] : [...new Set([...DEFAULT_CAPABILITIES, ...(input.capAdd ?? [])])];
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
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: sysOptions },
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
      ...(insecure ? {} : { seccomp: seccompProfile(caps) }),
    },
  };
}
