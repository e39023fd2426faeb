import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';
import { isLiveOwner, ownerTag, runcRoot, scratchRoot } from './owner.js';
import { checkRuntime } from './preflight.js';
import { Runc } from './runc.js';

export interface CleanupReport {
  containers: string[];
  mounts: string[];
  dirs: string[];
}

/**
 * Removes what killed kiln processes left behind in this state root: their runc containers,
 * overlay mounts and scratch directories. Anything owned by a live kiln process is left alone.
 */
export async function cleanupLeftovers(stateRoot: string): Promise<CleanupReport> {
  const report: CleanupReport = { containers: [], mounts: [], dirs: [] };
  const runc = new Runc(await checkRuntime(), runcRoot(stateRoot));
  const scratch = scratchRoot(stateRoot);
  const owners = await listDir(scratch);
  const liveContainers = new Set<string>();
  const dead: string[] = [];
  for (const owner of owners) {
    const containers = (await listDir(join(scratch, owner))).filter((n) => n.startsWith('kiln-'));
    if (owner === ownerTag() || isLiveOwner(owner)) {
      for (const c of containers) liveContainers.add(c);
      continue;
    }
    dead.push(owner);
    for (const c of containers) {
      if (await runc.exists(c)) {
        await runc.delete(c);
        report.containers.push(c);
      }
    }
  }
  // A runc container with no bundle in any live scratch dir lost its owner at the worst moment.
  for (const c of await listDir(runc.root)) {
    if (c.startsWith('kiln-') && !liveContainers.has(c) && !report.containers.includes(c)) {
      await runc.delete(c);
      report.containers.push(c);
    }
  }
  if (dead.length === 0) return report;
  const mountPoints = await mountPointsUnder(dead.map((o) => join(scratch, o)));
  for (const mp of mountPoints) {
    if ((await runCommand('umount', [mp])).code !== 0) await runCommand('umount', ['-l', mp]);
    report.mounts.push(mp);
  }
  const stillMounted = new Set(await mountPointsUnder(dead.map((o) => join(scratch, o))));
  for (const owner of dead) {
    const dir = join(scratch, owner);
    // Never recurse into something still mounted: it could be someone's lower layer.
    if ([...stillMounted].some((mp) => mp.startsWith(`${dir}/`))) continue;
    await rm(dir, { recursive: true, force: true });
    report.dirs.push(dir);
  }
  return report;
}

const once = new Map<string, Promise<unknown>>();

/** Startup cleanup, run once per state root per process before kiln first uses the runtime. */
export function cleanupLeftoversOnce(stateRoot: string): Promise<unknown> {
  let p = once.get(stateRoot);
  if (!p) {
    p = cleanupLeftovers(stateRoot);
    once.set(stateRoot, p);
  }
  return p;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Mount points below any of `dirs`, deepest first, from /proc/self/mountinfo. */
async function mountPointsUnder(dirs: string[]): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => dirs.some((d) => p.startsWith(`${d}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}
