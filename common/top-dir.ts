import { execFile } from 'node:child_process';

/**
 * Marks, with `chattr` (any failure ignored), directories whose children are unrelated trees (a
 * layer, a temp copy, a process's scratch dir) as tops of hierarchies for ext4's Orlov allocator
 * (FS_TOPDIR_FL).
 * Each child then starts in a block group picked for it instead of its parent's group, so a tree
 * made right after another was deleted does not land among the freed inodes. That matters on
 * ext4 without a journal, where allocating an inode checks every inode of the group deleted in
 * the last minute (recently_deleted()) and skips it: there, a cold COPY of 10,000 files took
 * 5-11 s in a group kiln had just emptied and about 3 s in a fresh one. Filesystems that do not
 * have the flag refuse it, and a missing chattr is no error either: the flag is only a hint.
 */
export function markTopDirs(dirs: readonly string[]): Promise<void> {
  return new Promise((resolve) => execFile('chattr', ['+T', ...dirs], () => resolve()));
}
