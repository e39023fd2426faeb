import type { Store } from '../cache/index.js';
import { containerMountedRoot, ContainerStartError, createSnapshot, exec, resolveUser, type ExtraHost, type NetworkMode, type RuntimeMount, type SecretSource, type SecurityMode } from '../runtime/index.js';
import { existsSync } from 'node:fs';
import { mkdir } from './fileops/index.js';
import { resolveScoped } from './fileops/scoped-path.js';
import { layerDirs, type ChainLayer, type LayerCommits, type PendingLayer } from './layers.js';
import { StepLog } from './step-log.js';
import { dropUnchangedDirs } from './unchanged-dirs.js';

export interface RunStepInput {
  store: Store;
  commits: LayerCommits;
  stateRoot: string;
  layers: readonly ChainLayer[];
  argv: string[];
  env: string[];
  user: string;
  workdir: string;
  network: NetworkMode;
  /** BUILDKIT_SANDBOX_HOSTNAME, else BUILD_HOSTNAME. */
  hostname: string;
  /** `--add-host` lines for /etc/hosts. */
  extraHosts: readonly ExtraHost[];
  mounts: RuntimeMount[];
  secrets: ReadonlyMap<string, SecretSource>;
  security: SecurityMode;
  log: StepLog;
  signal: AbortSignal;
}

/** The host name BuildKit gives every RUN container (`hostname`, /etc/hosts) unless BUILDKIT_SANDBOX_HOSTNAME says otherwise. */
export const BUILD_HOSTNAME = 'buildkitsandbox';

/**
 * A working directory missing from the rootfs (an image's WorkingDir never made, or removed by an
 * earlier RUN) is made before the command runs, owned by the RUN's user, as BuildKit's executor
 * does (MkdirAllAndChown); runc would make it owned by root.
 */
async function ensureWorkdir(rootfs: string, workdir: string, user: string): Promise<void> {
  if (workdir === '/' || existsSync(resolveScoped(rootfs, workdir))) return;
  const u = await resolveUser(rootfs, user);
  await mkdir(rootfs, workdir, { uid: u.uid, gid: u.gid });
}

export type RunStepResult = { ok: true; layer: PendingLayer } | { ok: false; exitCode: number; message?: string };

/**
 * Runs one RUN command in a container over the parent's layers and commits what it wrote as a
 * new layer. runc mounts the container's rootfs itself where nothing has to be prepared in it
 * (containerMountedRoot); otherwise it is mounted here first. A RUN always makes a layer, even an
 * empty one, as BuildKit's do. The layer's commit and the snapshot's release go on in the
 * background (input.commits).
 */
export async function runStep(input: RunStepInput): Promise<RunStepResult> {
  const lowerDirs = await layerDirs(input.store, input.layers);
  const direct = await containerMountedRoot({ stateRoot: input.stateRoot, lowerDirs, workdir: input.workdir, user: input.user, mounts: input.mounts });
  const snapshot = direct?.snapshot ?? (await createSnapshot({ stateRoot: input.stateRoot, lowerDirs, container: true }));
  try {
    if (!direct) await ensureWorkdir(snapshot.rootfs, input.workdir, input.user);
    let exitCode: number;
    try {
      ({ exitCode } = await exec({
        stateRoot: input.stateRoot,
        rootfs: snapshot.rootfs,
        args: input.argv,
        env: input.env,
        cwd: input.workdir,
        hostname: input.hostname,
        extraHosts: input.extraHosts,
        ...(input.user ? { user: input.user } : {}),
        ...(direct ? { rootMount: direct.snapshot.rootMount, resolvedUser: direct.user } : {}),
        network: input.network,
        mounts: input.mounts,
        secrets: input.secrets,
        security: input.security,
        stdout: input.log,
        stderr: input.log,
        signal: input.signal,
        removeLater: (removal) => input.commits.removeLater(removal),
      }));
    } catch (e) {
      if (e instanceof ContainerStartError) return { ok: false, exitCode: e.exitCode, message: e.message };
      throw e;
    }
    if (exitCode !== 0) return { ok: false, exitCode };
    const settled = snapshot.unmount().then(() => dropUnchangedDirs(snapshot.upperDir, lowerDirs));
    return { ok: true, layer: await input.commits.commit(snapshot.upperDir, settled) };
  } finally {
    input.commits.release(snapshot);
  }
}
