import { readGroups, readPasswd, type GroupEntry, type PasswdEntry } from '../../runtime/index.js';
import { FileOpError } from './errors.js';
import type { Owner } from './scoped-path.js';

/** llb's parseUID: a decimal id, or `root` for 0; anything else is a name. */
function numericId(part: string): number | undefined {
  if (part === 'root') return 0;
  return /^\d+$/.test(part) ? Number(part) : undefined;
}

/** Where `--chown`'s names are looked up, read only when a name needs it. */
export interface Accounts {
  passwd(): Promise<PasswdEntry[]>;
  groups(): Promise<GroupEntry[]>;
}

/** The /etc/passwd and /etc/group of a root filesystem. */
export function accountsIn(root: string): Accounts {
  return { passwd: () => readPasswd(root), groups: () => readGroups(root) };
}

/** `USER[:GROUP]` split as Go's SplitN(spec, ":", 2): the group is everything after the first colon. */
function userAndGroup(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}

/**
 * Resolves `--chown user[:group]` (and WORKDIR's owner, the USER) against the destination's
 * /etc/passwd and /etc/group exactly as BuildKit's file op (llb.WithUser, then readUser): a
 * numeric uid (or `root`) alone doubles as gid, a user name takes its passwd uid and primary
 * group, a group name its gid. A name that is not found is no error there: a user falls back
 * to 0:0 and a group leaves the gid as it was.
 */
export async function resolveChown(accounts: Accounts, spec: string): Promise<Owner> {
  const [user, group] = userAndGroup(spec);
  let uid = 0;
  let gid = 0;
  const userId = numericId(user);
  if (userId !== undefined) {
    uid = gid = userId;
  } else {
    const entry = (await accounts.passwd()).find((p) => p.name === user);
    if (entry) [uid, gid] = [entry.uid, entry.gid];
  }
  if (group !== undefined) {
    const groupId = numericId(group);
    if (groupId !== undefined) gid = groupId;
    else {
      const entry = (await accounts.groups()).find((g) => g.name === group);
      if (entry) gid = entry.gid;
    }
  }
  return { uid, gid };
}

/** Whether `--chown=spec` names its user and group by id (or root) only: no /etc/passwd is read. */
export function numericChown(spec: string): boolean {
  const [user, group] = userAndGroup(spec);
  return numericId(user) !== undefined && (group === undefined || numericId(group) !== undefined);
}

/**
 * `COPY --link --chown=NAME`: BuildKit copies into an empty layer, where a name cannot be looked
 * up, and fails ("invalid user index: -1"; rejected up front since 2026); only ids and root work.
 */
export function checkLinkChown(spec: string): void {
  if (!numericChown(spec)) {
    throw new FileOpError('E_COPY_CHOWN', `--chown=${spec} cannot name a user or group with --link: the layer is made apart from the image's /etc/passwd and /etc/group`, {
      hint: 'use numeric ids (--chown=UID:GID), or drop --link',
    });
  }
}
