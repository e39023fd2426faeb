/** The container runtime: overlay snapshots and runc containers. */
export { createSnapshot, createUpperSnapshot } from './snapshot.js';
export { lookupInLowers, readInLowers, type Lookup } from './lower-lookup.js';
export { containerMountedRoot, type RunRoot } from './run-root.js';
export { exec, ContainerStartError } from './exec.js';
export { cleanupLeftovers, cleanupLeftoversNow, findLeftovers, type CleanupReport } from './cleanup.js';
export { listContainers } from './containers.js';
export { checkPrivileges, checkRuntime, warmUpRuntime } from './preflight.js';
export { reexecRootless } from './reexec.js';
export { groupEntries, passwdEntries, readGroups, readPasswd, resolveUser, type GroupEntry, type PasswdEntry, type ResolvedUser } from './users.js';
export { buildSpec, MASKED_PATHS, READONLY_PATHS, type SpecInput, type OciMount } from './spec.js';
export { parseCapabilities, ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './capabilities.js';
export { seccompProfile, type SeccompProfile } from './seccomp.js';
export { parseSecretFlag, readSecret } from './secrets.js';
export { parseExtraHost, type ExtraHost } from './extra-hosts.js';
export { cacheMountBase } from './cache-mounts.js';
export { resolveInRoot } from './scoped-path.js';
export { resolveRunProcess, parseEnvFile, type ImageRunConfig, type RunOverrides, type RunProcess } from './run-config.js';
export { registerCleanup, cleanupAll } from './shutdown.js';
export type {
  ContainerInfo,
  CreateSnapshotOptions,
  ExecOptions,
  ExecResult,
  NetworkMode,
  OutputSink,
  RuntimeMount,
  SecretSource,
  SecurityMode,
  Snapshot,
  StdinSource,
} from './types.js';
export type { TerminalSize } from './tty-relay.js';
