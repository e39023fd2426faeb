import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkStore, diskUsage, prune } from '../cache/index.js';
import { withStore } from '../cache/test-support.js';
import type { Snapshot } from '../runtime/index.js';
import { committedLayers, LayerCommits, layerDirs } from './layers.js';

async function upperWith(root: string, name: string, content: string): Promise<string> {
  const dir = join(root, 'tmp', name);
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc', 'f'), content);
  // Fixed times, so equal content packs to the same tar.
  for (const p of [join(dir, 'etc', 'f'), join(dir, 'etc'), dir]) await utimes(p, 1_000_000, 1_000_000);
  return dir;
}

test('a committed upper dir is a lower dir at once and becomes the stored layer of its diffID', async (t) => {
  await withStore(async (store, root) => {
    const errors: unknown[] = [];
    const commits = new LayerCommits(store, (e) => errors.push(e));
    const upper = await upperWith(root, 'u1', 'one');
    let unmounted = false;
    const pending = await commits.commit(
      upper,
      sleep(20).then(() => {
        unmounted = true;
      }),
    );
    t.true(unmounted, 'the dir moves only once the overlay is unmounted');
    t.false(existsSync(upper));
    t.is(await readFile(join(pending.dir, 'etc', 'f'), 'utf8'), 'one');
    t.deepEqual(await layerDirs(store, [pending]), [pending.dir]);
    const [layer] = await committedLayers([pending]);
    t.true(await store.hasBlob(layer!.digest));
    t.is(await store.layerDir(layer!), pending.dir, 'the dir is recorded as the extracted layer: never extracted again');
    await commits.settle();
    t.true(existsSync(pending.dir));
    t.deepEqual(errors, []);
  });
});

test('a second dir with the same content is a spare: kept for the GC at settle, counted by du, swept by prune, no problem to check', async (t) => {
  await withStore(async (store, root) => {
    const commits = new LayerCommits(store, () => undefined);
    const first = await commits.commit(await upperWith(root, 'a', 'same'));
    const a = await first.descriptor;
    const second = await commits.commit(await upperWith(root, 'b', 'same'));
    const b = await second.descriptor;
    t.is(a.diffID, b.diffID);
    t.true(existsSync(second.dir), 'kept while a mount may still use it');
    t.is(await store.layerDir(b), first.dir);
    await commits.settle();
    t.false(existsSync(second.dir));
    t.true(existsSync(first.dir));
    const snapshots = join(root, 'snapshots');
    const spares = (await readdir(snapshots)).filter((n) => n.startsWith('spare.'));
    t.is(spares.length, 1, 'moved aside, not deleted: deleting 10,000 files slows the next build that makes as many');
    t.is(await readFile(join(snapshots, spares[0]!, 'etc', 'f'), 'utf8'), 'same');
    const usage = await diskUsage(store);
    t.is(usage.snapshots.count, 2);
    t.true(usage.snapshots.reclaimableBytes > 0, 'the spare is reclaimable');
    t.deepEqual((await checkStore(root)).findings, []);
    await prune(store);
    t.false(existsSync(join(snapshots, spares[0]!)));
  });
});

test('a small layer is packed once the steps ready to go have had their turn; a big one at once', async (t) => {
  await withStore(async (store, root) => {
    const commits = new LayerCommits(store, () => undefined);
    const write = store.writeBlobBuffer.bind(store);
    let order: string[] = [];
    store.writeBlobBuffer = (...args: Parameters<typeof write>) => {
      order.push('packed');
      return write(...args);
    };
    // What the next step does before its container starts: a chain of awaits, no I/O.
    const nextStep = async () => {
      for (let i = 0; i < 1000; i++) await null;
      order.push('next step');
    };
    const small = await commits.commit(await upperWith(root, 's', 'small'));
    await nextStep();
    await small.descriptor;
    t.deepEqual(order, ['next step', 'packed']);
    order = [];
    const big = await commits.commit(await upperWith(root, 'b', 'big'), undefined, true);
    await nextStep();
    await big.descriptor;
    t.deepEqual(order, ['packed', 'next step']);
    await commits.settle();
  });
});

test('a background failure stops the build at once and again at settle', async (t) => {
  await withStore(async (store) => {
    const errors: unknown[] = [];
    const commits = new LayerCommits(store, (e) => errors.push(e));
    const boom = new Error('disk full');
    commits.track(sleep(10).then(() => Promise.reject(boom)));
    commits.track(sleep(30));
    await t.throwsAsync(commits.settle(), { is: boom });
    t.deepEqual(errors, [boom]);
  });
});

test('a commit of a missing dir fails its step, not the process', async (t) => {
  await withStore(async (store, root) => {
    const commits = new LayerCommits(store, () => undefined);
    await t.throwsAsync(commits.commit(join(root, 'tmp', 'nope')), { code: 'ENOENT' });
    await commits.settle();
  });
});

test('a released snapshot holds settle() up only until it is unmounted; removed() waits for its scratch dir and reports a failure', async (t) => {
  await withStore(async (store) => {
    const commits = new LayerCommits(store, () => undefined);
    const events: string[] = [];
    const snapshot = (name: string, removal: () => Promise<void>) =>
      ({
        unmount: () => sleep(5).then(() => void events.push(`${name} unmounted`)),
        release: () => removal().then(() => void events.push(`${name} removed`)),
      }) as unknown as Snapshot;
    commits.release(snapshot('a', () => sleep(60)));
    await commits.settle();
    t.deepEqual(events, ['a unmounted'], 'settle does not wait for the removal');
    await commits.removed();
    t.deepEqual(events, ['a unmounted', 'a removed']);
    commits.release(snapshot('b', () => Promise.reject(new Error('rm failed'))));
    await t.throwsAsync(commits.removed(), { message: 'rm failed' });
  });
});

test('removed() also waits for the removals handed to removeLater (a RUN bundle dir)', async (t) => {
  await withStore(async (store) => {
    const commits = new LayerCommits(store, () => undefined);
    let done = false;
    commits.removeLater(sleep(40).then(() => void (done = true)));
    await commits.settle();
    t.false(done, 'settle does not wait for it');
    await commits.removed();
    t.true(done);
  });
});
