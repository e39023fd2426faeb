import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { EventLoopSlice } from '../../common/event-loop-slice.js';

/** The longest the walk holds the event loop at a time. */
const SLICE_MS = 2;

export interface WalkEntry {
  /** Path relative to the walked root, `/`-separated. */
  rel: string;
  abs: string;
  stat: BigIntStats;
}

/**
 * Depth-first, pre-order walk of everything under `root` (not `root` itself), each directory's
 * names sorted, never following symlinks. An explicit stack keeps deep or wide trees
 * (100,000+ entries) off the call stack; only one directory listing per level is held.
 * lstat and readdir are synchronous: for thousands of small entries a thread-pool round trip
 * each costs far more than the call. So that a layer packed in the background does not stall the
 * build's next step (whose mount and runc replies wait for the event loop), the walk gives the
 * loop back every SLICE_MS: its entries come as microtasks, which would otherwise run on until
 * the consumer's backpressure stops them (8 MiB of file bodies, ~60 ms for a tree of 600 files).
 */
export async function* walkTree(root: string): AsyncGenerator<WalkEntry> {
  const stack: { rel: string; names: string[]; next: number }[] = [{ rel: '', names: sortedNames(root), next: 0 }];
  const slice = new EventLoopSlice(SLICE_MS);
  while (stack.length > 0) {
    if (slice.over) await slice.next();
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++]!;
    const rel = top.rel === '' ? name : `${top.rel}/${name}`;
    const abs = join(root, rel);
    const stat = lstatSync(abs, { bigint: true });
    yield { rel, abs, stat };
    if (stat.isDirectory()) stack.push({ rel, names: sortedNames(abs), next: 0 });
  }
}

function sortedNames(dir: string): string[] {
  const names = readdirSync(dir);
  // Byte order of the UTF-8 names, as Go's sort.Strings (and so containerd/BuildKit) orders them.
  const keyed = names.map((n) => ({ n, k: Buffer.from(n, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.k, b.k));
  return keyed.map((e) => e.n);
}
