import { resolveUser } from '../../runtime/index.js';
import type { Owner } from './scoped-path.js';

/**
 * Resolves `--chown user[:group]` against the destination's /etc/passwd and /etc/group as
 * BuildKit does: a user name without a group takes the user's primary group, a numeric uid
 * without a group takes the same number as gid.
 */
export async function resolveChown(destRoot: string, spec: string): Promise<Owner> {
  const [user = '', group] = spec.split(':', 2);
  if (group === undefined || group === '') {
    if (/^\d+$/.test(user)) return { uid: Number(user), gid: Number(user) };
    const u = await resolveUser(destRoot, user);
    return { uid: u.uid, gid: u.gid };
  }
  const u = await resolveUser(destRoot, `${user}:${group}`);
  return { uid: u.uid, gid: u.gid };
}
