import { fsXattr } from '../../common/fs-xattr.js';

/** overlayfs bookkeeping, never part of what a COPY carries over. */
const SKIPPED = ['trusted.overlay.', 'user.overlay.'];

function absent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENODATA' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOATTR';
}

/**
 * Copies extended attributes (file capabilities, ACLs, user.*) as BuildKit's copier does. Call it
 * after chown, which clears `security.capability`. Never pass symlinks: fs-xattr follows them.
 */
export function copyXattrsSync(from: string, to: string): void {
  const { getAttributeSync, listAttributesSync, setAttributeSync } = fsXattr();
  let names: string[];
  try {
    names = listAttributesSync(from);
  } catch (err) {
    if (absent(err)) return;
    throw err;
  }
  for (const name of names) {
    if (SKIPPED.some((p) => name.startsWith(p))) continue;
    try {
      setAttributeSync(to, name, getAttributeSync(from, name));
    } catch (err) {
      if (!absent(err)) throw err;
    }
  }
}
