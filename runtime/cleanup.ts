import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from './command.js';
import { isLiveOwner, ownerTag, runcRoot, scratchRoot } from './owner.js';
import { checkRuntime } from './preflight.js';
import { Runc } from './runc.js';
import { orphansOf } from './orphans.js';

export interface CleanupReport {
  containers: string[];
  mounts: string[];
  dirs: string[];
}

/**
 * What killed kiln processes left behind in this state root (their runc containers, overlay
 * mounts and scratch directories), without touching anything: what `cleanupLeftovers` removes.
 */
export async function findLeftovers(stateRoot: string): Promise<CleanupReport> {
  const { report } = await survey(stateRoot);
  return report;
}

/**
 * Removes what killed kiln processes left behind in this state root: their runc containers,
 * overlay mounts and scratch directories. Anything owned by a live kiln process is left alone.
 */
export async function cleanupLeftovers(stateRoot: string): Promise<CleanupReport> {
  let surveyed = await survey(stateRoot);
  const stopped = await stopOrphans(surveyed.runc, scratchRoot(stateRoot), surveyed.dead.map((d) => basename(d)));
  if (stopped.waited) surveyed = await survey(stateRoot);
  const { report: found, runc, dead } = surveyed;
  // A container killed above is gone with its runc (runc run deletes it), but was a leftover all the same.
  const report: CleanupReport = { containers: [...stopped.killed], mounts: [], dirs: [] };
  for (const c of found.containers) {
    await runc.delete(c);
    if (!report.containers.includes(c)) report.containers.push(c);
  }
  if (dead.length === 0) return report;
  for (const mp of found.mounts) {
    if ((await runCommand('umount', [mp])).code !== 0) await runCommand('umount', ['-l', mp]);
    report.mounts.push(mp);
  }
  const stillMounted = await mountPointsUnder(dead);
  for (const dir of dead) {
    // Never recurse into something still mounted: it could be someone's lower layer.
    if (stillMounted.some((mp) => mp.startsWith(`${dir}/`))) continue;
    // Retries: a file appearing while the tree is removed (ENOTEMPTY) must not leave the dir behind.
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    report.dirs.push(dir);
  }
  return report;
}

/** Containers, mounts and scratch dirs of dead owners; `dead` are those owners' scratch dirs. */
async function survey(stateRoot: string): Promise<{ report: CleanupReport; runc: Runc; dead: string[] }> {
  const report: CleanupReport = { containers: [], mounts: [], dirs: [] };
  const runc = new Runc(await checkRuntime(), runcRoot(stateRoot));
  const scratch = scratchRoot(stateRoot);
  const liveContainers = new Set<string>();
  const dead: string[] = [];
  for (const owner of await listDir(scratch)) {
    const containers = (await listDir(join(scratch, owner))).filter((n) => n.startsWith('kiln-'));
    if (owner === ownerTag() || isLiveOwner(owner)) {
      for (const c of containers) liveContainers.add(c);
      continue;
    }
    dead.push(join(scratch, owner));
    for (const c of containers) if (runc.exists(c)) report.containers.push(c);
  }
  // A runc container with no bundle in any live scratch dir lost its owner at the worst moment.
  for (const c of await listDir(runc.root)) {
    if (c.startsWith('kiln-') && !liveContainers.has(c) && !report.containers.includes(c)) report.containers.push(c);
  }
  if (dead.length > 0) report.mounts = await mountPointsUnder(dead);
  report.dirs = dead;
  return { report, runc, dead };
}

/** How long what a dead owner left running may take to end. */
const ORPHAN_WAIT_MS = 10_000;

/**
 * Waits (bounded) for what dead owners left running to end, so nothing of theirs lands after the
 * survey: a mount helper finishes its last mount; a runc run may still be creating its container,
 * which would then appear (and its bundle dir fill) after cleanup. Such a runc is not killed
 * itself, which could orphan its `runc init`; its container is, once it exists, and runc then
 * ends. Says whether there was anything to wait for, and which containers were killed.
 */
async function stopOrphans(runc: Runc, scratch: string, tags: string[]): Promise<{ waited: boolean; killed: Set<string> }> {
  const deadline = Date.now() + ORPHAN_WAIT_MS;
  const killed = new Set<string>();
  let waited = false;
  for (;;) {
    const { helpers, runcs } = orphansOf(scratch, tags);
    if ((helpers.length === 0 && runcs.length === 0) || Date.now() > deadline) return { waited, killed };
    waited = true;
    for (const r of runcs) if (await runc.kill(r.id, 'KILL')) killed.add(r.id);
    await sleep(25);
  }
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

/**
 * cleanupLeftovers for a build about to start, which then counts as this process's startup
 * cleanup of `stateRoot`: the build's first snapshot does not survey the state root again (2-4 ms
 * before its container could start). A failed one is forgotten, so that the snapshot tries again
 * and reports why.
 */
export function cleanupLeftoversNow(stateRoot: string): Promise<CleanupReport> {
  const p = cleanupLeftovers(stateRoot);
  once.set(stateRoot, p);
  p.catch(() => {
    if (once.get(stateRoot) === p) once.delete(stateRoot);
  });
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
