/**
 * bench/layer: tar+zstd and tar+gzip of a 512 MiB directory through packLayer, next to
 * `tar c DIR | zstd -T0 -3` and `tar c DIR | gzip` on the same data in the same run.
 * Usage: node --import tsx bench/layer/run.ts [DIR] (default /tmp/kiln-bench/data/layer; created if missing).
 * ONLY=zstd or ONLY=gzip runs one half. zstd runs alternate CLI and kiln, so both see the same load.
 * Each figure is the median of RUNS (default 3) wall-clock runs; memory is peak RSS of the pack process.
 * CPU seconds (user+system, all threads) are shown too: on a shared machine they are the steadier figure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? '/tmp/kiln-bench/data/layer';
const runs = Number(process.env.RUNS ?? 3);

if (!existsSync(dir)) {
  process.stderr.write(`generating 512 MiB of data in ${dir}\n`);
  execFileSync('sh', [join(here, 'make-data.sh'), `${dir}.tmp`], { stdio: 'inherit' });
  execFileSync('mv', [`${dir}.tmp`, dir]);
}
// Warm the page cache so every contender reads from memory (not `tar > /dev/null`: GNU tar skips reading then).
execFileSync('sh', ['-c', `find "${dir}" -type f -exec cat {} + > /dev/null`]);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeShell(cmd: string): { seconds: number; cpuSeconds: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'bash', '-o', 'pipefail', '-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [e, u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { seconds: e, cpuSeconds: u + s };
}

interface KilnRun {
  seconds: number;
  cpuSeconds: number;
  peakMB: number;
  size: number;
}

function timeKiln(compression: string, level?: number): KilnRun {
  const args = ['-f', '%M', process.execPath, '--import', import.meta.resolve('tsx'), join(here, 'pack-once.ts'), dir, compression];
  if (level !== undefined) args.push(String(level));
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', cwd: join(here, '..', '..') });
  if (r.status !== 0) throw new Error(`pack-once failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { seconds: number; cpuSeconds: number; size: number };
  const peakKB = Number(r.stderr.trim().split('\n').pop());
  return { seconds: out.seconds, cpuSeconds: out.cpuSeconds, peakMB: peakKB / 1024, size: out.size };
}

interface Row {
  name: string;
  seconds: number;
  cpuSeconds: number;
  size: number;
  peakMB?: number;
}

function kilnRow(name: string, compression: string, level?: number): Row {
  const all = Array.from({ length: runs }, () => timeKiln(compression, level));
  return { name, seconds: median(all.map((r) => r.seconds)), cpuSeconds: median(all.map((r) => r.cpuSeconds)), peakMB: Math.max(...all.map((r) => r.peakMB)), size: all[0]!.size };
}

function cliRow(name: string, cmd: string): Row {
  const all = Array.from({ length: runs }, () => timeShell(`${cmd} > /dev/null`));
  const seconds = median(all.map((r) => r.seconds));
  const cpuSeconds = median(all.map((r) => r.cpuSeconds));
  const size = Number(execFileSync('bash', ['-o', 'pipefail', '-c', `${cmd} | wc -c`], { encoding: 'utf8' }).trim());
  return { name, seconds, cpuSeconds, size };
}

const tar = `tar cf - -C "${dir}" .`;
const fmt = (n: number, d = 2): string => n.toFixed(d);
const rows: Row[] = [];
// ONLY=zstd or ONLY=gzip runs one half; the pairs are compared only within one run.
const only = process.env.ONLY;
let zstdRatio = '';
let gzipRatio = '';
if (only === undefined || only === 'zstd') {
  // Interleaved, so both sides see the same load over the run.
  const cli: { seconds: number; cpuSeconds: number }[] = [];
  const kiln: KilnRun[] = [];
  for (let i = 0; i < runs; i++) {
    cli.push(timeShell(`${tar} | zstd -T0 -3 -q -c > /dev/null`));
    kiln.push(timeKiln('zstd'));
  }
  const cliSize = Number(execFileSync('bash', ['-o', 'pipefail', '-c', `${tar} | zstd -T0 -3 -q -c | wc -c`], { encoding: 'utf8' }).trim());
  const c: Row = { name: 'tar c | zstd -T0 -3', seconds: median(cli.map((r) => r.seconds)), cpuSeconds: median(cli.map((r) => r.cpuSeconds)), size: cliSize };
  const k: Row = {
    name: 'kiln packLayer zstd (level 3)',
    seconds: median(kiln.map((r) => r.seconds)),
    cpuSeconds: median(kiln.map((r) => r.cpuSeconds)),
    peakMB: Math.max(...kiln.map((r) => r.peakMB)),
    size: kiln[0]!.size,
  };
  rows.push(c, k);
  const pairs = cli.map((r, i) => r.seconds / kiln[i]!.seconds);
  zstdRatio = `zstd: kiln speed = ${fmt(c.seconds / k.seconds)}x the zstd CLI pipeline (median of per-pair ratios ${fmt(median(pairs))}x; target >= 0.80x); cpu ratio ${fmt(c.cpuSeconds / k.cpuSeconds)}x\n`;
}
if (only === undefined || only === 'gzip') {
  const gzipCli = cliRow('tar c | gzip', `${tar} | gzip -c`);
  const gzipKiln = kilnRow('kiln packLayer gzip (level 6)', 'gzip');
  rows.push(gzipCli, gzipKiln, kilnRow('kiln packLayer gzip (level 1)', 'gzip', 1));
  gzipRatio = `gzip: kiln speed = ${fmt(gzipCli.seconds / gzipKiln.seconds)}x the gzip CLI pipeline\n`;
}

process.stdout.write(`bench/layer on ${dir} (median of ${runs})\n`);
for (const r of rows) {
  const mem = r.peakMB === undefined ? '' : `  peak ${fmt(r.peakMB, 0)} MB`;
  process.stdout.write(`${r.name.padEnd(32)} ${fmt(r.seconds).padStart(6)} s wall ${fmt(r.cpuSeconds).padStart(6)} s cpu ${fmt(r.size / 2 ** 20, 1).padStart(6)} MiB${mem}\n`);
}
process.stdout.write(zstdRatio + gzipRatio);
