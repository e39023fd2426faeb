import { readFile } from 'node:fs/promises';
import { KilnError } from '../common/errors.js';

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

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), the last one runc 1.1 knows, in bit order. */
export const ALL_CAPABILITIES = `CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE
MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE`
  .split(/\s+/)
  .map((c) => `CAP_${c}`);

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

let bounding: Promise<string[]> | undefined;

/**
 * The capabilities in kiln's own bounding set, the most a container can be given: inside another
 * container or a restricted service some are missing, and runc refuses to grant those.
 */
export function boundingCapabilities(): Promise<string[]> {
  bounding ??= readFile('/proc/self/status', 'utf8').then(
    (status) => {
      const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
      if (!hex) return [...ALL_CAPABILITIES];
      const mask = BigInt(`0x${hex}`);
      return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
    },
    () => [...ALL_CAPABILITIES],
  );
  return bounding;
}
