/**
 * Chaos: kiln processes SIGKILLed at random moments (during RUN, COPY, layer writes, an OCI
 * export, `prune -a`). After each kill the next kiln process (an uninterrupted build, whose
 * start-up recovery removes what the dead one left) must give the reference image digest, and
 * then `kiln check` must find nothing. `kiln check` itself never recovers anything: it is run
 * after that next process, as a user would.
 *
 * Runs until KILN_CHAOS_KILLS (default 50) of them were really killed mid-way (a run can finish
 * before its random moment comes), stopping early once KILN_CHAOS_BUDGET_S (default 150) seconds
 * are spent so a loaded machine does not blow the suite's time; the counts are logged. KILN_CHAOS_SEED=<seed> replays a run (the seed is logged first).
 */
import test from 'ava';
import { buildInProcess, chaosSeed, findings, killOnce, makeRig, prng, startKiln, type Kill } from './chaos-harness.js';

const KILLS = Number(process.env.KILN_CHAOS_KILLS ?? 50);
const BUDGET_MS = Number(process.env.KILN_CHAOS_BUDGET_S ?? 150) * 1000;
const MIN_KILLS = Math.min(KILLS, 10);

test('SIGKILL at random moments: the next build gives the reference digest and kiln check is clean', async (t) => {
  t.timeout(BUDGET_MS + 240_000);
  const seed = chaosSeed();
  t.log(`KILN_CHAOS_SEED=${seed}`);
  const random = prng(seed);
  const rig = await makeRig();
  try {
    const started = Date.now();
    const kills: Kill[] = [];
    let midway = 0;
    while (midway < KILLS && kills.length < 3 * KILLS && (Date.now() - started < BUDGET_MS || midway < MIN_KILLS)) {
      const kill = await killOnce(rig, random);
      kills.push(kill);
      if (!kill.finished) midway++;
      const what = `kill #${kills.length} (${kill.kind} after ${kill.delayMs} ms${kill.finished ? ', had finished' : ''}; KILN_CHAOS_SEED=${seed})`;
      const digest = await buildInProcess(rig).catch((e: unknown) => {
        throw new Error(`the build after ${what} failed: ${(e as Error).stack ?? String(e)}`);
      });
      t.is(digest, rig.reference, `image digest after ${what}`);
      t.deepEqual(await findings(rig), [], `kiln check after ${what}`);
    }
    const byKind = new Map<string, number>();
    for (const k of kills) if (!k.finished) byKind.set(k.kind, (byKind.get(k.kind) ?? 0) + 1);
    t.log(`${kills.length} runs in ${Math.round((Date.now() - started) / 1000)} s; killed mid-way: ${JSON.stringify(Object.fromEntries(byKind))}`);
    t.true(midway >= MIN_KILLS, 'runs were really killed, not finished first');
    // The real command, once: exit 0 and nothing printed on stdout.
    const check = await startKiln(rig, ['check']).done;
    t.is(check.code, 0, check.stderr);
  } finally {
    await rig.cleanup();
  }
});
