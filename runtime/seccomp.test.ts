import test from 'ava';
import { readFile } from 'node:fs/promises';
import { seccompProfile, type SeccompProfile } from './seccomp.js';
import { kernelHas } from './kernel-config.js';
import { ALL_CAPABILITIES, boundingCapabilities, DEFAULT_CAPABILITIES, parseCapabilities } from './capabilities.js';
import { buildSpec, MASKED_PATHS, type SpecInput } from './spec.js';

/** The rules naming `name`, without their names. */
function rules(p: SeccompProfile, name: string) {
  return p.syscalls.filter((s) => s.names.includes(name)).map(({ names: _names, ...rest }) => rest);
}

test('the default profile: an allowlist failing everything else with EPERM, on x86_64 and its 32-bit ABIs', (t) => {
  const p = seccompProfile(DEFAULT_CAPABILITIES, 'x64', true);
  t.is(p.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(p.defaultErrnoRet, 1);
  t.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const denied of ['mount', 'umount2', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'kexec_load', 'bpf', 'reboot', 'kcmp', 'open_by_handle_at', 'userfaultfd']) {
    t.deepEqual(rules(p, denied), [], denied);
  }
  for (const allowed of ['read', 'execve', 'ptrace', 'arch_prctl', 'modify_ldt', 'chroot']) t.deepEqual(rules(p, allowed), [{ action: 'SCMP_ACT_ALLOW' }], allowed);
  t.deepEqual(rules(p, 'set_tls'), []);
  // Processes and threads, but no namespace flag; clone3 falls back to clone.
  t.deepEqual(rules(p, 'clone'), [{ action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  t.deepEqual(rules(p, 'clone3'), [{ action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  t.deepEqual(rules(p, 'socket'), [{ action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }]);
  t.is(rules(p, 'personality').length, 5);
});

test('x32 is in the filter only for a kernel that runs x32 programs; unknown counts as yes', (t) => {
  t.deepEqual(seccompProfile(DEFAULT_CAPABILITIES, 'x64', false).architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  const known = kernelHas('CONFIG_X86_X32_ABI');
  t.deepEqual(seccompProfile(DEFAULT_CAPABILITIES, 'x64').architectures.includes('SCMP_ARCH_X32'), known ?? true);
  t.not(kernelHas('CONFIG_SECCOMP_FILTER'), false, 'runc needs seccomp filters, so a readable config has them');
  t.not(kernelHas('CONFIG_KILN_NO_SUCH_OPTION'), true);
});

test('capability-conditional rules follow the granted capabilities', (t) => {
  const admin = seccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], 'x64');
  for (const name of ['mount', 'unshare', 'setns', 'clone3', 'kcmp']) t.deepEqual(rules(admin, name), [{ action: 'SCMP_ACT_ALLOW' }], name);
  t.deepEqual(rules(admin, 'clone'), [{ action: 'SCMP_ACT_ALLOW' }]);
  const noChroot = seccompProfile(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT'), 'x64');
  t.deepEqual(rules(noChroot, 'chroot'), []);
});

test('arm64 gets its own architectures and arch-specific syscalls', (t) => {
  const p = seccompProfile(DEFAULT_CAPABILITIES, 'arm64');
  t.deepEqual(p.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  t.deepEqual(rules(p, 'arch_prctl'), []);
  t.deepEqual(rules(p, 'set_tls'), [{ action: 'SCMP_ACT_ALLOW' }]);
});

const input: SpecInput = {
  rootfs: '/r',
  args: ['true'],
  env: [],
  cwd: '/',
  user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
  hostname: 'h',
  network: 'host',
  hostsFile: '/b/hosts',
  resolvConfFile: '/b/resolv.conf',
  mounts: [],
};

test('sandboxed specs carry the profile for their capabilities; insecure ones are unconfined', (t) => {
  const sandbox = buildSpec(input) as any;
  t.deepEqual(sandbox.linux.seccomp, seccompProfile(DEFAULT_CAPABILITIES));
  t.deepEqual(sandbox.linux.maskedPaths, MASKED_PATHS);
  t.true(sandbox.process.noNewPrivileges);
  t.true(sandbox.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('ro'));

  const raw = buildSpec({ ...input, capAdd: ['CAP_NET_RAW', 'CAP_CHOWN'] }) as any;
  t.deepEqual(raw.process.capabilities.bounding, [...DEFAULT_CAPABILITIES, 'CAP_NET_RAW']);

  const insecure = buildSpec({ ...input, security: 'insecure' }) as any;
  t.is(insecure.linux.seccomp, undefined);
  t.deepEqual(insecure.process.capabilities.effective, ALL_CAPABILITIES);
  t.deepEqual((buildSpec({ ...input, security: 'insecure', boundingSet: ['CAP_KILL'] }) as any).process.capabilities.effective, ['CAP_KILL']);
  const bounded = buildSpec({ ...input, capAdd: ALL_CAPABILITIES, boundingSet: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE') }) as any;
  t.is(bounded.process.capabilities.effective.length, ALL_CAPABILITIES.length - 1);
  t.false(bounded.process.capabilities.effective.includes('CAP_SYS_RESOURCE'));
  t.deepEqual(insecure.linux.maskedPaths, []);
  t.deepEqual(insecure.linux.readonlyPaths, []);
  t.false(insecure.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('ro'));
});

test('a terminal gets TERM=xterm unless the image sets TERM', (t) => {
  t.true((buildSpec({ ...input, terminal: true }) as any).process.env.includes('TERM=xterm'));
  t.true((buildSpec({ ...input, terminal: true }) as any).process.terminal);
  t.deepEqual((buildSpec({ ...input, env: ['TERM=dumb'], terminal: true }) as any).process.env.filter((e: string) => e.startsWith('TERM=')), ['TERM=dumb']);
  t.false((buildSpec(input) as any).process.env.some((e: string) => e.startsWith('TERM=')));
});

test('--cap-add names: with or without CAP_, any case, ALL; unknown names are refused', (t) => {
  t.deepEqual(parseCapabilities(['net_raw', 'CAP_SYS_PTRACE']), ['CAP_NET_RAW', 'CAP_SYS_PTRACE']);
  t.deepEqual(parseCapabilities(['all']), ALL_CAPABILITIES);
  t.is(ALL_CAPABILITIES.length, 41);
  t.true(DEFAULT_CAPABILITIES.every((c) => ALL_CAPABILITIES.includes(c)));
  t.throws(() => parseCapabilities(['NET_RAWW']), { code: 'E_RUNTIME_CAPABILITY', message: /unknown capability "NET_RAWW"/ });
});

test("kiln's bounding set is read from /proc in bit order", async (t) => {
  const status = await readFile('/proc/self/status', 'utf8');
  const mask = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
  const caps = await boundingCapabilities();
  t.is(caps.includes('CAP_CHOWN'), (mask & 1n) === 1n);
  t.is(caps.includes('CAP_SYS_ADMIN'), ((mask >> 21n) & 1n) === 1n);
  t.is(caps.length, mask.toString(2).replace(/0/g, '').length);
});
