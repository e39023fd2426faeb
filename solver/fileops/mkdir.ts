import { utimesSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cleanRel } from '../context/index.js';
import { mkdirAllScoped, type Owner } from './scoped-path.js';

/**
 * WORKDIR: creates `path` and its missing parents (0755, owned by `owner`) inside `destRoot`;
 * with `createdTime` (SOURCE_DATE_EPOCH, seconds) the directories made, and the existing one
 * they were made in, get it as their times, so the layer does not depend on when it was built.
 */
export async function mkdir(destRoot: string, path: string, owner?: Owner, createdTime?: number): Promise<void> {
  const made: string[] = [];
  mkdirAllScoped(destRoot, cleanRel(path), 0o755, owner, made);
  if (createdTime === undefined || made.length === 0) return;
  const parent = dirname(made[0]!);
  for (const dir of parent === resolve(destRoot) ? made : [parent, ...made]) utimesSync(dir, createdTime, createdTime);
}
