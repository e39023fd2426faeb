import { readFileSync } from 'node:fs';

/** One line of /proc/PID/uid_map or gid_map: `count` ids from `inside` on map to `outside` on. */
export interface IdMapping {
  inside: number;
  outside: number;
  count: number;
}

export function parseIdMap(text: string): IdMapping[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
}

let uidMap: IdMapping[] | undefined;

/** This process's uid mappings; the initial namespace maps every id to itself. */
export function ownUidMap(): IdMapping[] {
  try {
    uidMap ??= parseIdMap(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    uidMap = [{ inside: 0, outside: 0, count: 4294967295 }];
  }
  return uidMap;
}

/**
 * Whether kiln runs in a user namespace (rootless: re-executed by an unprivileged user, or inside a
 * rootless container). There root is only root over the mapped ids: overlay needs `userxattr`,
 * sysfs and device nodes cannot be made, and `trusted.*` xattrs cannot be set.
 */
export function inUserNamespace(): boolean {
  const map = ownUidMap();
  return !(map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295);
}

/** The uids a chown can give inside this namespace, e.g. `0-65536`, for error messages. */
export function mappedUidRanges(): string {
  const ranges: [number, number][] = [];
  for (const m of [...ownUidMap()].sort((a, b) => a.inside - b.inside)) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] + 1 === m.inside) last[1] = m.inside + m.count - 1;
    else ranges.push([m.inside, m.inside + m.count - 1]);
  }
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}
