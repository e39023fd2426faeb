/**
 * Push and pull of a 512 MiB image (4 layers of random data) to a local docker-registry, kiln
 * next to `skopeo copy` of the same image in the same run. Each tool gets its own fresh registry
 * so neither finds the other's blobs. Dirty pages are flushed (`sync`) before every timed step and
 * the tools take turns going first, so neither pays for the other's (or the setup's) writeback.
 * skopeo keeps the image as it is both ways (`--preserve-digests`, `--dest-oci-accept-uncompressed-layers`):
 * by default it gzips uncompressed layers on push and into an OCI layout on pull, another job
 * on other bytes. Each step's CPU seconds (user + system, all threads) are shown beside its wall time.
 *
 *   npm run build && node dist/bench/registry/run.js [--mib 512] [--runs 1] [--concurrency 3]
 *   (or from source: node --import tsx bench/registry/run.ts ..., where each worker thread also
 *   loads tsx and compiles its modules, ~1 s of CPU that a user's kiln does not pay)
 */
import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { openStore, type Store } from '../../cache/index.js';
import { MediaType, pullImage, pushImage } from '../../oci/index.js';
import { makeImage, randomDir } from '../../test/registry-image.js';
import { startRegistry } from '../../test/registry-server.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { mib: { type: 'string', default: '512' }, runs: { type: 'string', default: '1' }, concurrency: { type: 'string', default: '3' } } });
const concurrency = Number(values.concurrency);
const totalMiB = Number(values.mib);
const runs = Number(values.runs);
const LAYERS = 4;
/** PullOptions.workerThreshold as it defaults to with 3 or more cores: big blobs download on threads. */
const DOWNLOAD_THREADS = 16 * 1024 * 1024;

interface Timing {
  seconds: number;
  cpuSeconds: number;
}

/** Times kiln's library calls in this process. */
async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  await run('sync');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Times a skopeo command; its CPU comes from /usr/bin/time. */
async function timedSkopeo(args: string[]): Promise<Timing> {
  await run('sync');
  const t0 = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', '%U %S', 'skopeo', ...args]);
  const seconds = (performance.now() - t0) / 1000;
  const [user, system] = stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
  return { seconds, cpuSeconds: user + system };
}

/** The stored image as an OCI layout (blobs hard-linked), which is what skopeo copies from. */
async function exportLayout(store: Store, name: string, dir: string): Promise<void> {
  const img = await store.resolveImage(name);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) {
    await link(store.blobPath(d), join(dir, 'blobs', 'sha256', d.slice(7)));
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const size = (await store.readBlob(img.manifestDigest)).length;
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: img.manifestDigest, size, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }] }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const loadBefore = load();
const tmp = await mkdtemp(join(tmpdir(), 'kiln-bench-registry-'));
try {
  const store = await openStore(join(tmp, 'root'));
  const dirs = [];
  for (let i = 0; i < LAYERS; i++) dirs.push({ dir: await randomDir(tmp, `layer${i}`, (totalMiB / LAYERS) * 1024 * 1024), compression: 'none' as const });
  await makeImage(store, 'bench/image:1', dirs);
  await exportLayout(store, 'bench/image:1', join(tmp, 'layout'));
  for (const d of dirs) await rm(d.dir, { recursive: true });
  const results: Record<string, Timing[]> = { 'kiln push': [], 'skopeo push': [], 'kiln pull': [], 'kiln pull (download threads)': [], 'skopeo pull': [] };
  for (let r = 0; r < runs; r++) {
    for (const tool of r % 2 === 0 ? (['kiln', 'skopeo'] as const) : (['skopeo', 'kiln'] as const)) {
      const reg = await startRegistry();
      const target = `${reg.host}/bench/${tool}:1`;
      const pullDir = join(tmp, `pull-${tool}-${r}`);
      try {
        if (tool === 'kiln') {
          results['kiln push']!.push(await timed(() => pushImage(store, 'bench/image:1', target, { concurrency })));
          // The default (the main thread on 2 cores) next to the download threads, taking turns at going first.
          const variants = [['kiln pull', undefined], ['kiln pull (download threads)', DOWNLOAD_THREADS]] as const;
          for (const [name, workerThreshold] of r % 2 === 0 ? variants : [...variants].reverse()) {
            const fresh = await openStore(pullDir);
            try {
              results[name]!.push(await timed(() => pullImage(fresh, target, { concurrency, workerThreshold })));
            } finally {
              fresh.close();
              await rm(pullDir, { recursive: true, force: true });
            }
          }
        } else {
          results['skopeo push']!.push(await timedSkopeo(['copy', '-q', '--preserve-digests', '--dest-tls-verify=false', `oci:${join(tmp, 'layout')}:bench`, `docker://${target}`]));
          results['skopeo pull']!.push(await timedSkopeo(['copy', '-q', '--dest-oci-accept-uncompressed-layers', '--src-tls-verify=false', `docker://${target}`, `oci:${pullDir}:bench`]));
        }
      } finally {
        await reg.stop();
        await rm(pullDir, { recursive: true, force: true });
      }
    }
  }
  store.close();
  console.log(`registry benchmark: ${totalMiB} MiB image in ${LAYERS} uncompressed layers, kiln concurrency ${concurrency}, ${runs} run(s), median seconds`);
  console.log('like with like: push reads the same blobs (kiln: its store; skopeo: an OCI layout of hard links to them);');
  console.log('both push and pull the same uncompressed image (same digests); pull verifies every digest and fsyncs every blob');
  console.log('on both sides (kiln: into a fresh store; skopeo: into a fresh OCI layout); neither extracts layers;');
  console.log(`kiln downloads ${concurrency} blobs at once, skopeo up to 6 (containers/image's fixed limit)`);
  console.log(`load average (1/5/15 min): ${loadBefore} before, ${load()} after, on ${availableParallelism()} cores`);
  for (const [name, xs] of Object.entries(results)) {
    const wall = median(xs.map((x) => x.seconds));
    const cpu = median(xs.map((x) => x.cpuSeconds));
    const each = xs.map((x) => `${x.seconds.toFixed(2)}/${x.cpuSeconds.toFixed(2)}`).join(', ');
    console.log(`${name.padEnd(28)} ${wall.toFixed(2).padStart(7)} s  ${(totalMiB / wall).toFixed(0).padStart(5)} MiB/s  cpu ${cpu.toFixed(2)} s   [wall/cpu: ${each}]`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
