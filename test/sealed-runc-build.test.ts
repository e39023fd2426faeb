import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealedRuncReady } from '../runtime/sealed-runc.js';
import { dockerfileOptions, freshRootAndContext, rootfsOf, tracedBuild } from './build-helpers.js';

test('a build makes the sealed runc copy at its second RUN that runs, and not for one RUN', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-sealed-ctx-');
  // The copy's holder does not keep a process alive; this test waits on it after the builds.
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(alive));
  const build = async (dockerfile: string, tag: string) => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: [tag] });
  };

  const one = await build('FROM busybox\nRUN echo one > /one\n', 'one');
  t.deepEqual(one.ran, ['RUN echo one > /one']);
  t.is(await sealedRuncReady(), undefined, 'one RUN: no copy made');

  // Only the second RUN runs: the first is cached from the build above, the third comes after.
  const two = await build('FROM busybox\nRUN echo one > /one\nRUN echo two > /two\nRUN echo three > /three\n', 'two');
  t.deepEqual(two.ran, ['RUN echo two > /two', 'RUN echo three > /three']);
  t.regex((await sealedRuncReady()) ?? '', /^\/proc\/\d+\/fd\/\d+$/, 'made once a second RUN runs');
  const fs = await rootfsOf(root, 'two');
  t.is(await readFile(join(fs, 'three'), 'utf8'), 'three\n');
});
