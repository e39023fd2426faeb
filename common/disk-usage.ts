import type { BigIntStats } from 'node:fs';

/**
 * The disk space of a tree as `du -s` counts it: the blocks allocated to each inode, an inode with
 * several names once. Whatever walks the tree adds the lstat of every entry, the top one included,
 * so a walk made for another purpose (packing a layer) sizes the tree too.
 */
export class DiskUsageCounter {
  bytes = 0;
  private readonly linked = new Set<string>();

  add(stat: BigIntStats): void {
    if (stat.nlink > 1n && !stat.isDirectory()) {
      const inode = `${stat.dev}:${stat.ino}`;
      if (this.linked.has(inode)) return;
      this.linked.add(inode);
    }
    this.bytes += Number(stat.blocks) * 512;
  }
}
