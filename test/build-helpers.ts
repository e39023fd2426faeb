import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { applyLayer } from '../oci/index.js';
import { build, newBuildId, subscribe, type BuildOptions, type BuildResult, type VertexEvent } from '../solver/index.js';
import { collectOutput, type ProcessResult } from './process-output.js';

const run = promisify(execFile);
export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cliMain = join(repo, 'cli', 'main.ts');
export const fixtures = join(repo, 'fixtures', 'build');

let base: Promise<string> | undefined;

/** A state root holding busybox:latest, made once per test process and removed when it exits. */
function baseRoot(): Promise<string> {
  base ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), 'kiln-build-base-'));
    // At exit, not in a test's after hook: every test file that makes a fresh root shares this one.
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    await run(join(repo, 'fixtures', 'make-busybox-image.sh'), [root]);
    return root;
  })();
  return base;
}

/** A fresh state root of its own with busybox:latest in it; removed by `cleanup`. */
export async function freshRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const src = await baseRoot();
  const root = await mkdtemp(join(tmpdir(), 'kiln-build-'));
  await cp(src, root, { recursive: true });
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A fresh state root and an empty context dir (for a Dockerfile the test writes), both removed when the test ends. */
export async function freshRootAndContext(t: { teardown(fn: () => Promise<void>): void }, prefix: string): Promise<{ root: string; ctx: string }> {
  const { root, cleanup } = await freshRoot();
  const ctx = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(async () => {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  });
  return { root, ctx };
}

/** A copy of a fixture context under a temp dir, to change files in. */
export async function contextCopy(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kiln-ctx-${name}-`));
  await cp(join(fixtures, name), dir, { recursive: true });
  return dir;
}

export interface TracedBuild {
  result: BuildResult;
  events: VertexEvent[];
  /** Names of the steps that ran (not cached). */
  ran: string[];
  explain: Map<string, string[]>;
}

/** Builds through the library and records the progress events. */
export async function tracedBuild(opts: Omit<BuildOptions, 'buildId'>): Promise<TracedBuild> {
  const buildId = newBuildId();
  const events: VertexEvent[] = [];
  const off = subscribe(buildId, (e) => events.push(e));
  try {
    const result = await build({ ...opts, buildId });
    const started = events.filter((e): e is Extract<VertexEvent, { type: 'start' }> => e.type === 'start');
    return { result, events, ran: started.map((e) => e.name.replace(/^\[[^\]]*\] /, '')), explain: new Map(started.map((e) => [e.name.replace(/^\[[^\]]*\] /, ''), e.explain ?? []])) };
  } finally {
    off();
  }
}

export async function dockerfileOptions(root: string, ctx: string, file = 'Dockerfile'): Promise<Pick<BuildOptions, 'stateRoot' | 'dockerfile' | 'dockerfileName' | 'dockerfilePath' | 'contextDir'>> {
  const path = join(ctx, file);
  return { stateRoot: root, dockerfile: await readFile(path, 'utf8'), dockerfileName: file, dockerfilePath: path, contextDir: ctx };
}

export type CliResult = ProcessResult;

/** Runs `kiln` from source, as a user would. */
export function kiln(root: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return collectOutput(process.execPath, ['--import', import.meta.resolve('tsx'), cliMain, '--root', root, ...args], { cwd: repo, env: { ...process.env, CI: 'true', ...env } }, input ?? '');
}

/** The image's layers applied in order into a fresh directory (its root filesystem). */
export async function rootfsOf(root: string, image: string): Promise<string> {
  const store = await openStore(root);
  try {
    const img = await store.resolveImage(image);
    const dir = join(root, 'tmp', `test-rootfs-${Math.random().toString(36).slice(2)}`);
    await mkdir(dir, { recursive: true });
    for (const l of img.layers) await applyLayer(store.openBlob(l.digest), dir, { whiteouts: 'apply' });
    return dir;
  } finally {
    store.close();
  }
}
