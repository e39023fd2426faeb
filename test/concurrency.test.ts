/**
 * Eight kiln builds at once on one state root (the same Dockerfile and different ones, some with
 * --no-cache) while `kiln prune -a` runs alongside: every build succeeds with the image digest
 * its Dockerfile always gives, nothing in use is pruned, and `kiln check` is clean afterwards.
 */
import test from 'ava';
import { findings, makeRig, startKiln, buildCli } from './chaos-harness.js';

test('8 concurrent builds and a prune on one root: all succeed, same digests, kiln check clean', async (t) => {
  t.timeout(15 * 60_000);
  const rig = await makeRig();
  try {
    const plan: [string, string[]][] = [
      ['Dockerfile', []],
      ['Dockerfile', []],
      ['Dockerfile', ['--no-cache']],
      ['Dockerfile.other', []],
      ['Dockerfile.other', ['--no-cache']],
      ['Dockerfile.shared', []],
      ['Dockerfile.shared', ['--no-cache']],
      ['Dockerfile', ['--no-cache']],
    ];
    const prune = (async () => {
      // Once the builds are under way, so it races their holds and unrecorded layers.
      await new Promise((r) => setTimeout(r, 1500));
      return startKiln(rig, ['prune', '-a', '-f']).done;
    })();
    const runs = await Promise.all(plan.map(([file, flags]) => buildCli(rig, flags, file)));
    const pruned = await prune;
    t.is(pruned.code, 0, pruned.stderr);
    runs.forEach((r, i) => t.is(r.code, 0, `${plan[i]!.join(' ')}\n${r.stderr}`));
    const digests = new Map<string, Set<string>>();
    runs.forEach((r, i) => digests.set(plan[i]![0], (digests.get(plan[i]![0]) ?? new Set()).add(r.digest!)));
    for (const [file, set] of digests) t.is(set.size, 1, `${file} gave ${[...set].join(', ')}`);
    t.deepEqual([...digests.get('Dockerfile')!], [rig.reference]);
    // Each image is whole: its blobs survived the prune (check reports a broken image otherwise).
    t.deepEqual(await findings(rig), []);
    const check = await startKiln(rig, ['check']).done;
    t.is(check.code, 0, check.stderr);
    // And what was cached while the prune ran is still sound to build on.
    const again = await buildCli(rig, [], 'Dockerfile.shared');
    t.is(again.code, 0, again.stderr);
    t.deepEqual([...digests.get('Dockerfile.shared')!], [again.digest]);
  } finally {
    await rig.cleanup();
  }
});
