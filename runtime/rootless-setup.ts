import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { KilnError } from '../common/errors.js';
import { findProgram } from './find-program.js';
import { firstFreeId, subordinateRanges, type IdRange } from './subordinate-ids.js';

/** What kiln needs to give an unprivileged user its own user namespace, as podman and rootless BuildKit do. */
export interface RootlessSetup {
  user: string;
  uid: number;
  gid: number;
  uids: IdRange[];
  gids: IdRange[];
  newuidmap: string;
  newgidmap: string;
}

/** Where newuidmap and newgidmap look the ranges up. */
export const ID_FILES = { subuid: '/etc/subuid', subgid: '/etc/subgid' };

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The unprivileged user's subordinate ranges and the setuid helpers that map them, or an error
 * naming everything that is missing and the exact lines and package to add.
 */
export function rootlessSetup(env: NodeJS.ProcessEnv = process.env, who: { username: string; uid: number; gid: number } = userInfo(), files = ID_FILES): RootlessSetup {
  const { username: user, uid, gid } = who;
  const subuid = readText(files.subuid);
  const subgid = readText(files.subgid);
  const uids = subordinateRanges(subuid, user, uid);
  const gids = subordinateRanges(subgid, user, uid);
  const newuidmap = findProgram('newuidmap', env);
  const newgidmap = findProgram('newgidmap', env);
  if (uids.length > 0 && gids.length > 0 && newuidmap && newgidmap) return { user, uid, gid, uids, gids, newuidmap, newgidmap };

  const missing: string[] = [];
  const hints: string[] = [];
  if (uids.length === 0 || gids.length === 0) {
    const lacking = [...(uids.length === 0 ? [files.subuid] : []), ...(gids.length === 0 ? [files.subgid] : [])].join(' and ');
    missing.push(`a range of subordinate ids for ${user} in ${lacking}`);
    const first = firstFreeId(subuid, subgid);
    const last = first + 65_535;
    const flags = [...(uids.length === 0 ? [`--add-subuids ${first}-${last}`] : []), ...(gids.length === 0 ? [`--add-subgids ${first}-${last}`] : [])];
    hints.push(`as root, give ${user} 65536 ids: \`usermod ${flags.join(' ')} ${user}\` (the line \`${user}:${first}:65536\` in ${lacking})`);
  }
  if (!newuidmap || !newgidmap) {
    missing.push('the newuidmap and newgidmap programs');
    hints.push('install them: `apt-get install uidmap` on Debian/Ubuntu, `dnf install shadow-utils` on Fedora');
  }
  throw new KilnError('E_RUNTIME_ROOTLESS_SETUP', `kiln runs as ${user} (uid ${uid}), not root, so it runs containers in a user namespace, which needs ${missing.join(' and ')}`, {
    hint: `${hints.join('; ')}; or run kiln as root`,
  });
}
