/**
 * The chaos rig shared by test/chaos.test.ts, test/concurrency.test.ts and bench/soak: a state
 * root with busybox, a small deterministic multi-stage context (RUN, COPY, COPY --from; every
 * file it writes has mtime 0 and SOURCE_DATE_EPOCH=0, so a rebuild from scratch gives the same
 * image digest), kiln processes started from source and SIGKILLed at random moments, and the
 * check that must be clean after each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkStore } from '../cache/index.js';
import { findLeftovers } from '../runtime/index.js';
import { build } from '../solver/index.js';
import { cliMain, freshRoot, repo } from './build-helpers.js';

export const DOCKERFILES: Record<string, string> = {
  Dockerfile: `FROM busybox AS base
COPY a.txt /src/a.txt
RUN mkdir -p /out && cat /src/a.txt /src/a.txt > /out/x && touch -d @0 /out/x /out
FROM busybox
COPY --from=base /out /out
COPY b.txt /b.txt
RUN cat /out/x /b.txt > /all && touch -d @0 /all
`,
  'Dockerfile.other': `FROM busybox
COPY b.txt /other/b.txt
RUN sed s/b/B/ /other/b.txt > /other/B && touch -d @0 /other/B /other
`,
  'Dockerfile.shared': `FROM busybox AS base
COPY a.txt /src/a.txt
RUN mkdir -p /out && cat /src/a.txt /src/a.txt > /out/x && touch -d @0 /out/x /out
FROM busybox
COPY --from=base /out/x /shared
RUN wc -c /shared > /count && touch -d @0 /count
`,
};

export interface Rig {
  root: string;
  ctx: string;
  /** Scratch space for export targets and metadata files. */
  work: string;
  /** Manifest digest of the main Dockerfile's image. */
  reference: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export async function makeRig(): Promise<Rig> {
  const { root, cleanup } = await freshRoot();
  const work = await mkdtemp(join(tmpdir(), 'kiln-chaos-'));
  const ctx = join(work, 'ctx');
  await mkdir(ctx);
  await writeFile(join(ctx, 'a.txt'), 'alpha\n');
  await writeFile(join(ctx, 'b.txt'), 'bravo\n');
  for (const [name, text] of Object.entries(DOCKERFILES)) await writeFile(join(ctx, name), text);
  for (const f of ['a.txt', 'b.txt']) await utimes(join(ctx, f), 0, 0);
  const env = { ...process.env, SOURCE_DATE_EPOCH: '0', CI: 'true' };
  const rig: Rig = {
    root,
    ctx,
    work,
    reference: '',
    env,
    async cleanup() {
      await cleanup();
      await rm(work, { recursive: true, force: true });
    },
  };
  const ref = await buildCli(rig, []);
  if (ref.code !== 0) throw new Error(`reference build failed\n${ref.stderr}`);
  rig.reference = ref.digest!;
  return rig;
}

export interface Run {
  code: number;
  stderr: string;
  digest?: string;
}

/** A kiln process from source; `onStderr` sees its progress as it comes. */
export function startKiln(rig: Rig, args: string[], onStderr?: () => void): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), cliMain, '--root', rig.root, ...args], { cwd: repo, env: rig.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    onStderr?.();
  });
  // 'exit', not 'close': a container orphaned by a kill may keep the pipe open.
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 + 9 : -1), stderr }));
  });
  return { child, done };
}

let seq = 0;

/** `kiln build` of one of DOCKERFILES through the CLI; resolves with the manifest digest. */
export async function buildCli(rig: Rig, flags: string[], dockerfile = 'Dockerfile'): Promise<Run> {
  const meta = join(rig.work, `meta-${process.pid}-${++seq}.json`);
  const r = await startKiln(rig, ['build', '--progress', 'plain', '-f', join(rig.ctx, dockerfile), '--metadata-file', meta, ...flags, rig.ctx]).done;
  if (r.code === 0) r.digest = (JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string })['containerimage.digest'];
  await rm(meta, { force: true });
  return r;
}

/** The next "kiln process": a build through the library, with its start-up recovery; returns the manifest digest. */
export async function buildInProcess(rig: Rig, dockerfile = 'Dockerfile'): Promise<string> {
  const previous = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = '0';
  try {
    const path = join(rig.ctx, dockerfile);
    const r = await build({ stateRoot: rig.root, dockerfile: await readFile(path, 'utf8'), dockerfileName: dockerfile, dockerfilePath: path, contextDir: rig.ctx });
    return r.manifestDigest;
  } finally {
    if (previous === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = previous;
  }
}

/** Everything `kiln check` reports, one line per finding. */
export async function findings(rig: Rig): Promise<string[]> {
  const rt = await findLeftovers(rig.root);
  const store = await checkStore(rig.root);
  return [
    ...rt.containers.map((c) => `leftover-container ${c}`),
    ...rt.mounts.map((m) => `leftover-mount ${m}`),
    ...rt.dirs.map((d) => `leftover-scratch ${d}`),
    ...store.findings.map((f) => `${f.kind} ${f.subject}: ${f.detail}`),
  ];
}

export type KillKind = 'build --no-cache' | 'build' | 'build -o oci' | 'prune -a';

export interface Kill {
  kind: KillKind;
  /** Milliseconds after the process first reported progress (after start for prune) that it was killed. */
  delayMs: number;
  /** Whether it had already exited by itself when the kill came. */
  finished: boolean;
}

/** Small, fast, seedable PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How long (ms) each kind of process runs after its first progress (prune: after its start),
 * learnt from the runs that finished before their kill, so kills land inside the work.
 */
const expectedMs: Record<KillKind, number> = { 'build --no-cache': 4000, build: 1500, 'build -o oci': 2000, 'prune -a': 2500 };

/**
 * Starts one kiln process of a random kind and SIGKILLs it at a random moment: builds once they
 * show progress (so the kill lands in RUN, COPY, layer writes or the export, not in module
 * loading), prune from its start.
 */
export async function killOnce(rig: Rig, random: () => number): Promise<Kill> {
  const r = random();
  const kind: KillKind = r < 0.45 ? 'build --no-cache' : r < 0.65 ? 'build' : r < 0.85 ? 'build -o oci' : 'prune -a';
  const args: Record<KillKind, string[]> = {
    'build --no-cache': ['build', '--progress', 'plain', '--no-cache', rig.ctx],
    build: ['build', '--progress', 'plain', rig.ctx],
    'build -o oci': ['build', '--progress', 'plain', '-o', `type=oci,dest=${join(rig.work, 'export.tar')}`, rig.ctx],
    'prune -a': ['prune', '-a', '-f'],
  };
  let progressed!: () => void;
  const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
  const { child, done } = startKiln(rig, args[kind], () => progressed());
  const delayMs = Math.floor(random() * expectedMs[kind]);
  if (kind !== 'prune -a') await Promise.race([firstProgress, done]);
  const from = Date.now();
  const finished = await Promise.race([sleep(delayMs).then(() => false), done.then(() => true)]);
  if (finished) expectedMs[kind] = Math.max(50, Math.min(expectedMs[kind], Date.now() - from));
  else child.kill('SIGKILL');
  await done;
  return { kind, delayMs, finished };
}

/** The seed from KILN_CHAOS_SEED, or a fresh one; always printed so a failure can be replayed. */
export function chaosSeed(): number {
  const env = process.env.KILN_CHAOS_SEED;
  return env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}
