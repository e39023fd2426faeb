import { randomBytes } from 'node:crypto';
import { chown, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { KilnError } from '../common/errors.js';
import { acquireCacheDir, throwAwayCacheDir } from './cache-mounts.js';
import { readSecret } from './secrets.js';
import { createSnapshot } from './snapshot.js';
import type { OciMount } from './spec.js';
import type { RuntimeMount, SecretSource } from './types.js';

export interface MountContext {
  stateRoot: string;
  /** Per-execution directory; secret files are written here and removed with it. */
  bundleDir: string;
  cwd: string;
  secrets: ReadonlyMap<string, SecretSource>;
  signal?: AbortSignal;
}

export interface PreparedMounts {
  oci: OciMount[];
  release(): Promise<void>;
}

/** Turns RUN-style mounts into OCI mounts, holding cache locks and scratch overlays until release. */
export async function prepareMounts(mounts: RuntimeMount[], ctx: MountContext): Promise<PreparedMounts> {
  const oci: OciMount[] = [];
  const releases: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const r of releases.reverse()) await r();
    releases.length = 0;
  };
  try {
    let secretIndex = 0;
    let cacheIndex = 0;
    for (const m of mounts) {
      if (m.type === 'ssh') {
        throw new KilnError('E_RUNTIME_SSH_UNSUPPORTED', 'RUN --mount=type=ssh is not supported yet', {
          hint: 'use --mount=type=secret for the key material until SSH agent forwarding lands',
        });
      }
      const destination = mountDestination(m, ctx.cwd);
      switch (m.type) {
        case 'bind': {
          let source = m.source;
          if (m.discardWrites && !m.readonly) source = await throwAwayCopy(m.source, ctx, releases);
          oci.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(m.readonly ? ['ro'] : [])] });
          break;
        }
        case 'tmpfs':
          oci.push({ destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.sizeBytes ? [`size=${m.sizeBytes}`] : [])] });
          break;
        case 'cache': {
          const dir = m.throwAway ? await throwAwayCacheDir(join(ctx.bundleDir, `cache-${cacheIndex++}`), m) : await acquireCacheDir(ctx.stateRoot, m, ctx.signal);
          releases.push(dir.release);
          oci.push({ destination, type: 'bind', source: dir.path, options: ['rbind', 'rprivate', ...(m.readonly ? ['ro'] : [])] });
          break;
        }
        case 'secret': {
          const source = ctx.secrets.get(m.id);
          if (!source) {
            if (m.required) {
              throw new KilnError('E_RUNTIME_SECRET_MISSING', `secret "${m.id}" is required but was not provided`, { hint: `pass it with --secret id=${m.id},src=FILE` });
            }
            break;
          }
          const dir = join(ctx.bundleDir, 'secrets');
          await mkdir(dir, { recursive: true, mode: 0o700 });
          const file = join(dir, String(secretIndex++));
          await writeFile(file, await readSecret(source), { mode: m.mode ?? 0o400 });
          await chown(file, m.uid ?? 0, m.gid ?? 0);
          oci.push({ destination, type: 'bind', source: file, options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev', 'noexec'] });
          break;
        }
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { oci, release };
}

/** Where a mount goes in the container (a secret by default under /run/secrets), relative targets from `cwd`. */
export function mountDestination(m: Exclude<RuntimeMount, { type: 'ssh' }>, cwd: string): string {
  const target = m.type === 'secret' ? (m.target ?? `/run/secrets/${m.id}`) : m.target;
  if (!target) throw new KilnError('E_RUNTIME_MOUNT_TARGET', 'a mount needs a target path');
  return posix.resolve(cwd, target);
}

/** BuildKit's read-write bind: the step may write, the source never changes. */
async function throwAwayCopy(source: string, ctx: MountContext, releases: (() => Promise<void>)[]): Promise<string> {
  if ((await stat(source)).isDirectory()) {
    const snapshot = await createSnapshot({ stateRoot: ctx.stateRoot, lowerDirs: [source] });
    releases.push(() => snapshot.release());
    return snapshot.rootfs;
  }
  const copy = join(ctx.bundleDir, `bind-${randomBytes(4).toString('hex')}`);
  await copyFile(source, copy);
  return copy;
}
