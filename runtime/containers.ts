import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupLeftoversOnce } from './cleanup.js';
import { META_FILE, type ContainerMeta } from './exec.js';
import { runcRoot } from './owner.js';
import { checkRuntime } from './preflight.js';
import { Runc } from './runc.js';
import type { ContainerInfo } from './types.js';

/** Containers kiln started in this state root that are still running (`kiln ps`). */
export async function listContainers(stateRoot: string): Promise<ContainerInfo[]> {
  const runc = new Runc(await checkRuntime(), runcRoot(stateRoot));
  // Containers of killed kiln processes are not "running" in any useful sense: remove them first.
  await cleanupLeftoversOnce(stateRoot);
  const out: ContainerInfo[] = [];
  for (const c of await runc.list()) {
    if (!c.id.startsWith('kiln-') || c.status !== 'running') continue;
    let meta: Partial<ContainerMeta> = {};
    try {
      meta = JSON.parse(await readFile(join(c.bundle, META_FILE), 'utf8')) as ContainerMeta;
    } catch {
      // Bundle already being removed: still list what runc knows.
    }
    out.push({ id: c.id, name: meta.name, image: meta.image, command: meta.command ?? [], created: new Date(meta.created ?? c.created), pid: c.pid, status: c.status });
  }
  return out.sort((a, b) => b.created.getTime() - a.created.getTime());
}
