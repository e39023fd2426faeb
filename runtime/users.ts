import { readFile } from 'node:fs/promises';
import { KilnError } from '../common/errors.js';
import { resolveInRoot } from './scoped-path.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from /etc/passwd, `/` when the user has no entry. */
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^\d+$/;

/**
 * Resolves a Docker `USER` value (`name`, `uid`, `name:group`, `uid:gid`, ...) against the
 * container's /etc/passwd and /etc/group, as Docker does: names must exist, numbers need not.
 * The primary group leads the supplementary groups (containerd and BuildKit since CVE-2023-25173:
 * a process that drops its supplementary groups must not keep one it was not given).
 */
export async function resolveUser(rootfs: string, spec: string | undefined): Promise<ResolvedUser> {
  return resolveUserFrom({ passwd: await readInRoot(rootfs, '/etc/passwd'), group: await readInRoot(rootfs, '/etc/group') }, spec);
}

/** resolveUser, given the text of /etc/passwd and /etc/group ('' for a missing file). */
export function resolveUserFrom(files: { passwd: string; group: string }, spec: string | undefined): ResolvedUser {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2);
  const user = userPart === '' ? '0' : userPart;
  const passwd = passwdEntries(files.passwd);
  const entry = passwd.find((p) => (NUMERIC.test(user) ? p.uid === Number(user) : p.name === user));
  if (!entry && !NUMERIC.test(user)) {
    throw new KilnError('E_RUNTIME_USER', `unable to find user ${user}: no matching entries in passwd file`, {
      hint: 'create the user in an earlier step (e.g. RUN adduser) or use a numeric uid',
    });
  }
  const uid = entry ? entry.uid : Number(user);
  const home = entry?.home || '/';
  const groups = groupEntries(files.group);

  if (groupPart !== undefined && groupPart !== '') {
    const group = groups.find((g) => (NUMERIC.test(groupPart) ? g.gid === Number(groupPart) : g.name === groupPart));
    if (!group && !NUMERIC.test(groupPart)) {
      throw new KilnError('E_RUNTIME_USER', `unable to find group ${groupPart}: no matching entries in group file`, {
        hint: 'create the group in an earlier step (e.g. RUN addgroup) or use a numeric gid',
      });
    }
    const gid = group ? group.gid : Number(groupPart);
    return { uid, gid, additionalGids: [gid], home };
  }
  const gid = entry ? entry.gid : 0;
  const name = entry?.name;
  const memberOf = name === undefined ? [] : groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  return { uid, gid, additionalGids: [...new Set([gid, ...memberOf])], home };
}

/** The entries of the root's /etc/passwd with numeric ids; none without the file (scratch). */
export async function readPasswd(rootfs: string): Promise<PasswdEntry[]> {
  return passwdEntries(await readInRoot(rootfs, '/etc/passwd'));
}

/** The entries of the root's /etc/group with a numeric gid; none without the file. */
export async function readGroups(rootfs: string): Promise<GroupEntry[]> {
  return groupEntries(await readInRoot(rootfs, '/etc/group'));
}

async function readInRoot(rootfs: string, path: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootfs, path), 'utf8');
  } catch {
    // Images without /etc/passwd (scratch) are normal; only numeric users work there.
    return '';
  }
}

function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** The entries of an /etc/passwd text with numeric ids. */
export function passwdEntries(text: string): PasswdEntry[] {
  return rows(text)
    .filter((f) => f.length >= 4 && NUMERIC.test(f[2]!) && NUMERIC.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

/** The entries of an /etc/group text with a numeric gid. */
export function groupEntries(text: string): GroupEntry[] {
  return rows(text)
    .filter((f) => f.length >= 3 && NUMERIC.test(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}
