/**
 * bench/exec: per-execution overhead of kiln's runtime over bare runc.
 *   node --import tsx bench/exec/run.ts [N]   (or node dist/bench/exec/run.js [N] after a build)
 * Interleaves N runs each of: bare `runc run` of a prepared bundle, plain and with kiln's sandbox
 * (the same seccomp profile and capabilities, whose cost runc pays, not kiln); kiln `exec` on a
 * prepared rootfs; and the full RUN-step path (overlay snapshot + exec + release). Prints medians.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkRuntime, createSnapshot, DEFAULT_CAPABILITIES, exec, seccompProfile } from '../../runtime/index.js';

const run = promisify(execFile);
const n = Number(process.argv[2] ?? 50);
// From source (bench/exec/) or compiled (dist/bench/exec/): the repository is where package.json is.
const here = dirname(fileURLToPath(import.meta.url));
const repo = [join(here, '..', '..'), join(here, '..', '..', '..')].find((d) => existsSync(join(d, 'package.json')))!;

const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-exec-'));
try {
  const rootfs = join(dir, 'rootfs');
  await run('bash', [join(repo, 'fixtures', 'make-busybox-rootfs.sh'), rootfs]);
  const runc = await checkRuntime();
  const bundle = join(dir, 'bundle');
  await run(runc, ['spec', '--bundle', dir]);
  const spec = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.root = { path: rootfs, readonly: true };
  await run('mkdir', ['-p', bundle]);
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const sandboxBundle = join(dir, 'sandboxed');
  const caps = DEFAULT_CAPABILITIES;
  const sandboxed = { ...spec, process: { ...spec.process, capabilities: { bounding: caps, effective: caps, permitted: caps } }, linux: { ...spec.linux, seccomp: seccompProfile(caps) } };
  await run('mkdir', ['-p', sandboxBundle]);
  await writeFile(join(sandboxBundle, 'config.json'), JSON.stringify(sandboxed));
  const bareRoot = join(dir, 'bare-runc');
  const stateRoot = join(dir, 'state');

  const bare = async (i: number, from = bundle) => {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(runc, ['--root', bareRoot, 'run', '--bundle', from, `bench-${from === bundle ? '' : 's'}${i}`], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`runc exited ${code}`))));
    });
  };
  const kilnExec = async () => {
    await exec({ stateRoot, rootfs, args: ['/bin/true'] });
  };
  const kilnStep = async () => {
    const snapshot = await createSnapshot({ stateRoot, lowerDirs: [rootfs], container: true });
    try {
      await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['/bin/true'] });
    } finally {
      await snapshot.release();
    }
  };

  // Warm up page cache, runc and kiln's one-time checks.
  await bare(-1);
  await kilnExec();
  await kilnStep();

  const times = { bare: [] as number[], sandboxed: [] as number[], exec: [] as number[], step: [] as number[] };
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await bare(i);
    times.bare.push(performance.now() - t);
    t = performance.now();
    await bare(i, sandboxBundle);
    times.sandboxed.push(performance.now() - t);
    t = performance.now();
    await kilnExec();
    times.exec.push(performance.now() - t);
    t = performance.now();
    await kilnStep();
    times.step.push(performance.now() - t);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const m = { bare: median(times.bare), sandboxed: median(times.sandboxed), exec: median(times.exec), step: median(times.step) };
  const f = (x: number) => `${x.toFixed(1)} ms`;
  process.stdout.write(
    [
      `bench/exec: ${n} sequential runs of /bin/true each (load average ${loadavg()[0]!.toFixed(1)})`,
      `  bare runc run (prepared bundle)        median ${f(m.bare)}`,
      `  bare runc run, kiln's sandbox          median ${f(m.sandboxed)}   seccomp cost ${f(m.sandboxed - m.bare)}`,
      `  kiln exec (prepared rootfs)            median ${f(m.exec)}   overhead ${f(m.exec - m.bare)}   over sandboxed runc ${f(m.exec - m.sandboxed)}`,
      `  kiln snapshot + exec + release (RUN)   median ${f(m.step)}   overhead ${f(m.step - m.bare)}`,
      `  target: exec overhead under 40 ms: ${m.exec - m.bare < 40 ? 'met' : 'NOT met'} (over sandboxed runc: ${m.exec - m.sandboxed < 40 ? 'met' : 'NOT met'})`,
      '',
    ].join('\n'),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
