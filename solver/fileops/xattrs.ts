import { fsXattr, isOverlayXattr, xattrAbsent } from '../../common/fs-xattr.js';

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
    if (xattrAbsent(err)) return;
    throw err;
  }
  for (const name of names) {
    if (isOverlayXattr(name)) continue;
    try {
      setAttributeSync(to, name, getAttributeSync(from, name));
    } catch (err) {
      if (!xattrAbsent(err)) throw err;
    }
  }
}
