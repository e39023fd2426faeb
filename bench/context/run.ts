/**
 * Build-context benchmark on the shared S2 context (10,000 files, 100 MiB):
 *   cold  - checksum of `COPY deps/` + `COPY src/` with an empty stat cache (every file read);
 *   warm  - the same again in a fresh openContext (what a no-op rebuild pays: walk, lstat, one query);
 *   copy  - a cold `COPY . /app` of the whole context into an empty root (the fileops part of S7).
 * Generate the context first:
 *   KB=/tmp/kiln-bench /work/shared/bench-scenarios/S2-noop-rebuild/gen-context.sh
 *   node --import tsx bench/context/run.ts [--context DIR] [--runs N]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../cache/index.js';
import { openContext } from '../../solver/context/index.js';
import { copy } from '../../solver/fileops/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const contextDir = arg('--context', join(process.env.KB ?? '/tmp/kiln-bench', 'ctx', 'S2-noop-rebuild'));
const runs = Number(arg('--runs', '5'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function checksumOnce(stateRoot: string): Promise<number> {
  const store = await openStore(stateRoot);
  const start = performance.now();
  const ctx = await openContext(contextDir, { store });
  await ctx.checksum(['deps/']);
  await ctx.checksum(['src/']);
  // What a build writes back to the stat cache (once its steps are done) counts too.
  ctx.saveStats();
  const ms = performance.now() - start;
  ctx.close();
  store.close();
  return ms;
}

const cold: number[] = [];
const warm: number[] = [];
const copies: number[] = [];
for (let i = 0; i < runs; i++) {
  const stateRoot = await mkdtemp(join(tmpdir(), 'kiln-bench-ctx-'));
  try {
    cold.push(await checksumOnce(stateRoot));
    for (let j = 0; j < 3; j++) warm.push(await checksumOnce(stateRoot));
    const destRoot = join(stateRoot, 'rootfs');
    await mkdir(destRoot);
    const start = performance.now();
    await copy({ sourceRoot: contextDir, sources: ['.'], dest: '/app', destRoot, workdir: '/' });
    copies.push(performance.now() - start);
  } finally {
    await rm(stateRoot, { recursive: true, force: true });
  }
}
const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, n=${xs.length})`;
process.stdout.write(`context ${contextDir}\n`);
process.stdout.write(`checksum cold: ${fmt(cold)}\n`);
process.stdout.write(`checksum warm: ${fmt(warm)}\n`);
process.stdout.write(`copy cold:     ${fmt(copies)}\n`);
