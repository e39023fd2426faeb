import { kernelHas } from './kernel-config.js';
/**
 * The seccomp allowlist every sandboxed container gets: the same rules as Docker's default profile
 * (moby profiles/seccomp/default.json), kept here as data and resolved for the capabilities the
 * container is granted and the host's architecture, as Docker resolves its profile before handing
 * it to runc. Anything not listed fails with EPERM.
 */

/** One condition on a syscall argument, as in the OCI runtime spec. */
export interface SeccompArg {
  index: number;
  value: number;
  op: 'SCMP_CMP_NE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_MASKED_EQ';
  valueTwo?: number;
}

export interface SeccompSyscall {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: SeccompArg[];
}

/** `linux.seccomp` of the OCI runtime spec. */
export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompSyscall[];
}

interface Rule extends SeccompSyscall {
  /** Only when the container has all of these capabilities. */
  caps?: string[];
  /** Only when the container lacks all of these capabilities. */
  unlessCaps?: string[];
  /** Only on these Node.js architectures. */
  arches?: NodeJS.Architecture[];
}

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** Libseccomp's architecture and the 32-bit ABIs a 64-bit kernel also runs, per Node.js architecture. */
const ARCHITECTURES: Partial<Record<NodeJS.Architecture, string[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/**
 * Whether the kernel can run x32 programs: most distribution kernels are built without that ABI,
 * and then no process can make an x32 syscall for the filter to judge. Leaving SCMP_ARCH_X32 out
 * of such a filter changes nothing a container can do and saves runc a third of the filter it
 * compiles for every container (~8 ms of each RUN). When the kernel's configuration cannot be
 * read, x32 stays in, as in Docker's profile. With `stateRoot`, the answer is kept there until the
 * machine reboots (kernel-config.ts).
 */
export function kernelRunsX32(stateRoot?: string): boolean {
  return kernelHas('CONFIG_X86_X32_ABI', stateRoot) ?? true;
}

/** Syscalls allowed to every container whatever its capabilities. */
const ALWAYS_ALLOWED = `accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown
fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd
getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid
getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2
mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg
recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid
setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address
setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice
wait4 waitid waitpid write writev
process_vm_readv process_vm_writev ptrace`
  .split(/\s+/)
  .filter(Boolean);

/**
 * personality(2) personas Docker allows: PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32 and
 * the 0xffffffff query.
 */
const PERSONAS = [0, 0x8, 0x20000, 0x20008, 0xffffffff];

const RULES: Rule[] = [
  { names: ALWAYS_ALLOWED, action: 'SCMP_ACT_ALLOW' },
  // Every address family but vsock, which reaches the host's hypervisor sockets.
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
  ...PERSONAS.map((value): Rule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
  { names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], action: 'SCMP_ACT_ALLOW', arches: ['arm', 'arm64'] },
  { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', arches: ['x64'] },
  { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', arches: ['x64', 'ia32'] },
  { names: ['open_by_handle_at'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_DAC_READ_SEARCH'] },
  {
    names: 'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare'.split(' '),
    action: 'SCMP_ACT_ALLOW',
    caps: ['CAP_SYS_ADMIN'],
  },
  // Without CAP_SYS_ADMIN, threads and processes yes, new namespaces no.
  { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], unlessCaps: ['CAP_SYS_ADMIN'] },
  // clone3's flags sit in a struct seccomp cannot read: ENOSYS makes libc fall back to clone.
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, unlessCaps: ['CAP_SYS_ADMIN'] },
  { names: ['reboot'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_BOOT'] },
  { names: ['chroot'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_CHROOT'] },
  { names: ['delete_module', 'init_module', 'finit_module'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_MODULE'] },
  { names: ['acct'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_PACCT'] },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_RAWIO'] },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_TIME'] },
  { names: ['vhangup'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_TTY_CONFIG'] },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYS_NICE'] },
  { names: ['syslog'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_SYSLOG'] },
  { names: ['bpf'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_BPF'] },
  { names: ['perf_event_open'], action: 'SCMP_ACT_ALLOW', caps: ['CAP_PERFMON'] },
];

/**
 * The profile for a container holding `capabilities` (`CAP_*` names) on `arch` (with the x32 ABI
 * when `x32`). Docker's
 * `minKernel: 4.8` rule for ptrace is taken as met (kiln's overlay snapshots need a newer kernel
 * anyway): tracing is allowed, but only of processes the caller could already signal, since
 * CAP_SYS_PTRACE is not granted by default.
 */
export function seccompProfile(capabilities: readonly string[], arch: NodeJS.Architecture = process.arch, x32: boolean = arch === 'x64' && kernelRunsX32()): SeccompProfile {
  const granted = new Set(capabilities);
  const syscalls: SeccompSyscall[] = [];
  for (const { caps, unlessCaps, arches, ...syscall } of RULES) {
    if (caps && !caps.every((c) => granted.has(c))) continue;
    if (unlessCaps && unlessCaps.some((c) => granted.has(c))) continue;
    if (arches && !arches.includes(arch)) continue;
    syscalls.push(syscall);
  }
  const architectures = (ARCHITECTURES[arch] ?? []).filter((a) => x32 || a !== 'SCMP_ARCH_X32');
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures, syscalls };
}
