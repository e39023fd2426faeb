import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { fsXattr, isOverlayXattr, xattrAbsent } from '../../common/fs-xattr.js';
import { selectSources } from './select.js';
import { TreeView, type TreeEntry } from './tree.js';

const CHUNK = 1024 * 1024;

/**
 * The content digest of what `COPY --from` `sources` select in a stage's or image's merged tree at
 * `root`: every selected path with its type, mode, owner, extended attributes and bytes (a
 * symlink, its target), never its times, as BuildKit's content hash of a copy's sources. A
 * stage built again to the same files gives the same digest, so the copy, and all that follows,
 * is not run again. The selection is taken before `--exclude`, which only makes the digest
 * change more often than the copy does, never less.
 */
export function selectionDigest(root: string, sources: string[], options: { parents?: boolean } = {}): string {
  const view = new TreeView(root);
  const lines: string[] = [];
  const add = (e: TreeEntry, as: string) => lines.push(`${as}\0${describe(view, e)}`);
  for (const m of selectSources(view, sources, options)) {
    add(m.entry, m.given);
    if (m.entry.type === 'dir') view.walk(m.entry.rel, (e, sub) => add(e, `${m.given}/${sub}`));
  }
  const h = createHash('sha256');
  for (const line of lines.sort()) h.update(`${line}\n`);
  return `sha256:${h.digest('hex')}`;
}

function describe(view: TreeView, e: TreeEntry): string {
  if (e.type === 'symlink') return `${e.type}\0${e.uid}:${e.gid}\0${view.readlink(e.rel)}`;
  const head = `${e.type}\0${e.mode.toString(8)}\0${e.uid}:${e.gid}\0${xattrLine(e.path)}`;
  if (e.type === 'file') return `${head}\0${fileDigest(e.path)}`;
  return head;
}

function fileDigest(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The entry's own extended attributes (not overlayfs's), sorted, values in hex. */
function xattrLine(path: string): string {
  const fx = fsXattr();
  let names: string[];
  try {
    names = fx.listAttributesSync(path).filter((n) => !isOverlayXattr(n));
  } catch (e) {
    if (xattrAbsent(e)) return '';
    throw e;
  }
  return names
    .sort()
    .map((n) => `${n}=${fx.getAttributeSync(path, n).toString('hex')}`)
    .join(',');
}
