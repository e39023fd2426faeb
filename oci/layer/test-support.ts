import { createHash } from 'node:crypto';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { readXattrsSync } from './xattrs.js';
import { walkTree } from './walk.js';

/** One line per path describing everything a layer must preserve; two equal snapshots mean identical trees. Test support only. */
export async function snapshotTree(root: string, options: { mtimes?: boolean } = {}): Promise<string[]> {
  const lines: string[] = [];
  const inodes = new Map<string, string>();
  for await (const { rel, abs, stat } of walkTree(root)) {
    const kind = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : stat.isCharacterDevice() ? 'char' : stat.isBlockDevice() ? 'block' : stat.isFIFO() ? 'fifo' : 'other';
    const parts = [rel, kind, `mode=${(stat.mode & 0o7777n).toString(8)}`, `owner=${stat.uid}:${stat.gid}`];
    if (options.mtimes !== false) parts.push(`mtime=${stat.mtimeNs / 1_000_000_000n}`);
    if (kind === 'file') parts.push(`sha=${createHash('sha256').update(await readFile(abs)).digest('hex').slice(0, 16)}`);
    if (kind === 'symlink') parts.push(`-> ${await readlink(abs)}`);
    if (kind === 'char' || kind === 'block') parts.push(`rdev=${stat.rdev}`);
    if (kind !== 'dir' && stat.nlink > 1n) {
      const key = `${stat.ino}`;
      if (!inodes.has(key)) inodes.set(key, rel);
      parts.push(`inode-of=${inodes.get(key)}`);
    }
    if (kind !== 'symlink') {
      for (const [k, v] of readXattrsSync(abs).carried) parts.push(`xattr ${k}=${v.toString('hex')}`);
    }
    lines.push(parts.join(' '));
  }
  return lines;
}

/** Lists a directory tree's paths (for "nothing was written outside" checks). */
export async function listPaths(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { rel } of walkTree(root)) out.push(rel);
  return out;
}

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
