import { cleanRel } from '../context/index.js';
import { mkdirAllScoped, type Owner } from './scoped-path.js';

/** WORKDIR: creates `path` and its missing parents (0755, owned by `owner`) inside `destRoot`. */
export async function mkdir(destRoot: string, path: string, owner?: Owner): Promise<void> {
  mkdirAllScoped(destRoot, cleanRel(path), 0o755, owner);
}
