/**
 * Soak: chaos and concurrency mixed on one state root for a given time, then a summary.
 *
 *   node --import tsx bench/soak/run.ts [--minutes 30] [--seed N]
 *
 * Each round is either a kill (a build, --no-cache build, OCI export or prune -a SIGKILLed at a
 * random moment, then an uninterrupted build that must give the reference digest) or a burst
 * (four builds of different Dockerfiles at once, some --no-cache, a prune -a and one more build
 * that is killed alongside). After every round the state root is checked as `kiln check` does.
 * Prints builds done, kills survived and check findings; exits 1 when anything went wrong.
 */
import { parseArgs } from 'node:util';
import { buildCli, buildInProcess, chaosSeed, findings, killOnce, makeRig, prng, startKiln, type Rig } from '../../test/chaos-harness.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes);
const seed = values.seed !== undefined ? Number(values.seed) : chaosSeed();
const random = prng(seed);

let builds = 0;
let kills = 0;
const failures: string[] = [];
const problems: string[] = [];

function log(line: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function killRound(rig: Rig): Promise<void> {
  const kill = await killOnce(rig, random);
  const digest = await buildInProcess(rig).catch((e: unknown) => {
    failures.push(`build after ${kill.kind} kill at ${kill.delayMs} ms: ${(e as Error).message}`);
    return undefined;
  });
  if (digest === undefined) return;
  builds++;
  if (digest !== rig.reference) failures.push(`after ${kill.kind} kill at ${kill.delayMs} ms: digest ${digest}, reference ${rig.reference}`);
  else if (!kill.finished) kills++;
}

/** Resolves with whether the victim build was really killed (not finished first). */
async function burstRound(rig: Rig): Promise<boolean> {
  const plan: [string, string[]][] = [
    ['Dockerfile', []],
    ['Dockerfile.other', random() < 0.5 ? ['--no-cache'] : []],
    ['Dockerfile.shared', random() < 0.5 ? ['--no-cache'] : []],
    ['Dockerfile', ['--no-cache']],
  ];
  const victim = startKiln(rig, ['build', '--progress', 'plain', '--no-cache', rig.ctx]);
  const victimKill = setTimeout(() => victim.child.kill('SIGKILL'), 500 + random() * 4000);
  const [runs, prune] = await Promise.all([Promise.all(plan.map(([file, flags]) => buildCli(rig, flags, file))), startKiln(rig, ['prune', '-a', '-f']).done]);
  const victimRun = await victim.done;
  clearTimeout(victimKill);
  if (victimRun.code !== 0 && victimRun.code !== 137) failures.push(`killed build ended with ${victimRun.code}: ${victimRun.stderr.slice(-500)}`);
  if (prune.code !== 0) failures.push(`prune during builds failed: ${prune.stderr.slice(-500)}`);
  runs.forEach((r, i) => {
    if (r.code !== 0) failures.push(`${plan[i]!.join(' ')} failed: ${r.stderr.slice(-500)}`);
    else builds++;
  });
  if (runs[0]!.digest !== undefined && runs[0]!.digest !== rig.reference) failures.push(`burst build digest ${runs[0]!.digest}, reference ${rig.reference}`);
  return victimRun.code === 137;
}

log(`seed ${seed}, ${minutes} minutes`);
const rig = await makeRig();
// The clock starts once the rig (busybox root, reference build) is ready.
const deadline = Date.now() + minutes * 60_000;
let rounds = 0;
try {
  while (Date.now() < deadline) {
    rounds++;
    if (random() < 0.75) {
      await killRound(rig);
    } else {
      const killed = await burstRound(rig);
      // The burst's killed build left work behind that only the next kiln process recovers.
      const digest = await buildInProcess(rig);
      builds++;
      if (digest !== rig.reference) failures.push(`round ${rounds}: digest ${digest}, reference ${rig.reference}`);
      else if (killed) kills++;
    }
    const found = await findings(rig);
    for (const f of found) problems.push(`round ${rounds}: ${f}`);
    if (rounds % 10 === 0) log(`${rounds} rounds, ${builds} builds, ${kills} kills survived, ${problems.length} findings, ${failures.length} failures`);
  }
  await buildInProcess(rig);
  builds++;
  const final = await startKiln(rig, ['check']).done;
  if (final.code !== 0) problems.push(`final kiln check: ${final.stderr}`);
} finally {
  await rig.cleanup();
}

process.stdout.write(`seed: ${seed}\nminutes: ${minutes}\nrounds: ${rounds}\nbuilds done: ${builds}\nkills survived: ${kills}\nkiln check findings: ${problems.length}\nfailures: ${failures.length}\n`);
for (const p of [...problems, ...failures]) process.stdout.write(`  ${p}\n`);
process.exitCode = problems.length + failures.length > 0 ? 1 : 0;
