/** Test helper: a busybox root filesystem and a private state root per test file. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = join(repoRoot, 'cli', 'main.ts');

export interface Fixture {
  /** Temp dir holding everything below; removed by dispose(). */
  dir: string;
  /** The busybox tree, used as the single lower layer. */
  base: string;
  /** `base` as a tar (sorted, root-owned), for importing into the store. */
  tar: string;
  stateRoot: string;
  /** A new, empty state root of its own, for a test that must not see other tests' snapshots. */
  isolatedStateRoot(): string;
  dispose(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-rt-'));
  const base = join(dir, 'base');
  const tar = join(dir, 'base.tar');
  await run('bash', [join(repoRoot, 'fixtures', 'make-busybox-rootfs.sh'), base, tar]);
  const stateRoot = join(dir, 'state');
  let isolated = 0;
  return {
    dir,
    base,
    tar,
    stateRoot,
    isolatedStateRoot: () => join(dir, `state-${++isolated}`),
    async dispose() {
      const mounts = await readFile('/proc/self/mountinfo', 'utf8');
      if (mounts.includes(dir)) throw new Error(`mounts left under ${dir}`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Collects a child's output into a string. */
export function sink(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc: BufferEncoding, cb: () => void) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
