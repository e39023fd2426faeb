import test from 'ava';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { VertexEvent } from '../solver/index.js';
import { contextCopy, dockerfileOptions, fixtures, freshRoot, rootfsOf, tracedBuild } from './build-helpers.js';

test('rebuilds run exactly the steps whose inputs changed, and --explain says why', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('cache');
  try {
    const opts = { ...(await dockerfileOptions(root, ctx)), tags: ['cached'] };
    const first = await tracedBuild(opts);
    t.deepEqual(first.ran, ['COPY deps/ /deps/', 'RUN cat /deps/* > /deps.all', 'COPY src/ /src/', 'RUN cat /src/*.txt > /src.all', 'RUN echo "$FLAVOR" > /flavor']);
    t.deepEqual(first.explain.get('COPY deps/ /deps/'), ['first build']);

    const again = await tracedBuild(opts);
    t.deepEqual(again.ran, [], 'nothing changed: zero steps run');
    t.is(again.result.stats.cached, 5);
    t.is(again.result.configDigest, first.result.configDigest, 'a fully cached rebuild gives the same image');

    await writeFile(join(ctx, 'src', 'a.txt'), 'a changed\n');
    const changed = await tracedBuild(opts);
    t.deepEqual(changed.ran, ['COPY src/ /src/', 'RUN cat /src/*.txt > /src.all', 'RUN echo "$FLAVOR" > /flavor']);
    t.deepEqual(changed.explain.get('COPY src/ /src/'), ['context files changed: src/a.txt']);
    t.regex(changed.explain.get('RUN cat /src/*.txt > /src.all')!.join(), /^parent step #\d+ changed$/);
    const fs = await rootfsOf(root, 'cached');
    t.is(await readFile(join(fs, 'src.all'), 'utf8'), 'a changed\nb\n');

    await writeFile(join(ctx, 'src', 'debug.log'), 'ignored change\n');
    t.deepEqual((await tracedBuild(opts)).ran, [], 'a .dockerignored change re-runs nothing');

    const arg = await tracedBuild({ ...opts, buildArgs: new Map([['FLAVOR', 'spicy']]) });
    t.deepEqual(arg.ran, ['RUN echo "$FLAVOR" > /flavor'], 'a build arg change re-runs only the steps that see it');
    t.deepEqual(arg.explain.get('RUN echo "$FLAVOR" > /flavor'), ['build arg FLAVOR changed']);

    const all = await tracedBuild({ ...opts, buildArgs: new Map([['FLAVOR', 'spicy']]), noCache: true });
    t.is(all.ran.length, 5, '--no-cache runs every step, COPY included');
    t.true([...all.explain.values()].every((r) => r.join() === '--no-cache'));
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('--no-cache-filter re-runs only the named stage', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('cache');
  try {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox AS one\nRUN echo 1 > /one\nFROM busybox AS two\nRUN echo 2 > /two\nCOPY --from=one /one /one\n');
    const opts = await dockerfileOptions(root, ctx);
    await tracedBuild(opts);
    const r = await tracedBuild({ ...opts, noCacheFilter: ['two'] });
    t.deepEqual(r.ran, ['RUN echo 2 > /two', 'COPY --from=one /one /one']);
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('a cache mount with from= and source= starts as a copy of that path, owners and modes kept, and then lives on as any cache (BuildKit dispatchRunMounts)', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('cache');
  try {
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM busybox AS seed',
        'RUN mkdir -p /data/sub && echo seeded > /data/sub/f && chown -R 65534:65534 /data/sub && chmod 700 /data/sub',
        'FROM busybox',
        'RUN --mount=type=cache,id=kiln-seeded,target=/c,from=seed,source=/data cat /c/sub/f > /out && stat -c "%u %a" /c/sub >> /out && echo more > /c/more',
        'RUN --mount=type=cache,id=kiln-seeded,target=/c cat /c/more >> /out',
      ].join('\n'),
    );
    const opts = { ...(await dockerfileOptions(root, ctx)), tags: ['seeded'] };
    await tracedBuild(opts);
    t.is(await readFile(join(await rootfsOf(root, 'seeded'), 'out'), 'utf8'), 'seeded\n65534 700\nmore\n');
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('independent stages run in parallel (from progress timestamps)', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const r = await tracedBuild({ ...(await dockerfileOptions(root, join(fixtures, 'parallel'))), jobs: 4 });
    const sleeps = r.events.filter((e): e is Extract<VertexEvent, { type: 'start' }> => e.type === 'start' && e.name.includes('RUN sleep 2'));
    t.is(sleeps.length, 4);
    const done = new Map(r.events.filter((e) => e.type === 'complete').map((e) => [e.vertex, e.time]));
    const lastStart = Math.max(...sleeps.map((e) => e.time));
    const firstEnd = Math.min(...sleeps.map((e) => done.get(e.vertex)!));
    // All four were running at the same moment: the last one started before any finished.
    t.true(lastStart < firstEnd, `last start ${lastStart} vs first end ${firstEnd}`);
  } finally {
    await cleanup();
  }
});

test('the same step reached from two stages runs once', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('cache');
  try {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox AS x\nRUN echo same > /s\nFROM busybox AS y\nRUN echo same > /s\nFROM busybox\nCOPY --from=x /s /x\nCOPY --from=y /s /y\n');
    const r = await tracedBuild({ ...(await dockerfileOptions(root, ctx)), jobs: 4 });
    t.is(r.ran.filter((n) => n === 'RUN echo same > /s').length, 1);
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('RUN mounts (secret file and env, bind from context, tmpfs, cache) and repeated empty layers', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('cache');
  try {
    await writeFile(join(ctx, 'tok.txt'), 's3cret');
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = s3cret',
        'RUN --mount=type=secret,id=tok,env=TOK test "$TOK" = s3cret',
        'RUN --mount=type=bind,source=src,target=/m cat /m/a.txt > /from-bind',
        'RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && test ! -e /x',
        'RUN --mount=type=cache,target=/c echo run >> /c/f && cp /c/f /cache-seen',
        '',
      ].join('\n'),
    );
    const opts = { ...(await dockerfileOptions(root, ctx)), tags: ['mounts'], secrets: new Map([['tok', { id: 'tok', file: join(ctx, 'tok.txt') }]]) };
    const r = await tracedBuild(opts);
    t.is(r.ran.length, 5);
    const fs = await rootfsOf(root, 'mounts');
    t.is(await readFile(join(fs, 'from-bind'), 'utf8'), 'a\n');
    t.is(await readFile(join(fs, 'cache-seen'), 'utf8'), 'run\n');
    await t.throwsAsync(readFile(join(fs, 'run/secrets/tok')), undefined, 'secrets never land in a layer');
    // The secret's value is not part of the key: a different value still hits the cache.
    await writeFile(join(ctx, 'tok.txt'), 'other');
    t.deepEqual((await tracedBuild(opts)).ran, []);
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('--build-context: a directory for FROM and COPY --from, an image for a stage name; stdin builds need no context', async (t) => {
  const { root, cleanup } = await freshRoot();
  const extra = await contextCopy('cache');
  try {
    const dockerfile = [
      'FROM tools AS t',
      'FROM busybox',
      'COPY --from=extra src/a.txt /a.txt',
      'COPY --from=t /deps/one.txt /one.txt',
      'COPY --from=alias /bin/busybox /bb',
      '',
    ].join('\n');
    const r = await tracedBuild({
      stateRoot: root,
      dockerfile,
      dockerfileName: '-',
      tags: ['named'],
      namedContexts: new Map([
        ['extra', { kind: 'dir', path: extra }],
        ['tools', { kind: 'dir', path: extra }],
        ['alias', { kind: 'image', ref: 'busybox' }],
      ]),
    });
    t.deepEqual(r.ran.slice(1), ['COPY --from=extra src/a.txt /a.txt', 'COPY --from=t /deps/one.txt /one.txt', 'COPY --from=alias /bin/busybox /bb']);
    t.regex(r.ran[0]!, /^FROM tools \(directory /);
    const fs = await rootfsOf(root, 'named');
    t.is(await readFile(join(fs, 'a.txt'), 'utf8'), 'a\n');
    t.is(await readFile(join(fs, 'one.txt'), 'utf8'), 'dep one\n');
    t.true((await readFile(join(fs, 'bb'))).length > 100_000);

    // docker-image://scratch is the empty image (BuildKit testNamedImageContext).
    await tracedBuild({ stateRoot: root, dockerfile: 'FROM base\nCOPY --from=alias /bin/busybox /bb\n', dockerfileName: '-', tags: ['on-scratch'], namedContexts: new Map([['base', { kind: 'image', ref: 'scratch' }], ['alias', { kind: 'image', ref: 'busybox' }]]) });
    t.deepEqual((await readdir(await rootfsOf(root, 'on-scratch'))).sort(), ['bb']);
    // COPY --from it finds nothing there: the missing source, not a missing image "scratch".
    const empty = await t.throwsAsync(tracedBuild({ stateRoot: root, dockerfile: 'FROM busybox\nCOPY --from=base /x /x\n', dockerfileName: '-', namedContexts: new Map([['base', { kind: 'image', ref: 'scratch' }]]) }));
    t.regex(empty!.message, /"\/x": not found/);

    const noContext = t.throwsAsync(tracedBuild({ stateRoot: root, dockerfile: 'FROM busybox\nCOPY x /x\n', dockerfileName: '-' }));
    t.regex((await noContext)!.message, /COPY needs a build context/);
  } finally {
    await rm(extra, { recursive: true, force: true });
    await cleanup();
  }
});

test('ADD of a URL misses the cache when what the URL serves changed, and only then (BuildKit testDockerfileADDFromURL)', async (t) => {
  const { root, cleanup } = await freshRoot();
  t.teardown(cleanup);
  let body = 'first\n';
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/served.txt`;
  const ctx = await contextCopy('cache');
  t.teardown(() => rm(ctx, { recursive: true, force: true }));
  await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nADD ${url} /served.txt\nRUN cat /served.txt > /copy\n`);
  const opts = { ...(await dockerfileOptions(root, ctx)), tags: ['added:1'] };
  t.deepEqual((await tracedBuild(opts)).ran, [`ADD ${url} /served.txt`, 'RUN cat /served.txt > /copy']);
  t.is(requests, 1, 'the step uses what its key was made from, not a second download');
  t.deepEqual((await tracedBuild(opts)).ran, [], 'unchanged: the URL is asked again, and everything is cached');
  body = 'second\n';
  t.deepEqual((await tracedBuild(opts)).ran, [`ADD ${url} /served.txt`, 'RUN cat /served.txt > /copy']);
  t.is(await readFile(join(await rootfsOf(root, 'added:1'), 'copy'), 'utf8'), 'second\n');
  t.deepEqual((await readdir(join(root, 'tmp'))).filter((f) => f.includes('add-url')), [], 'the downloads made for the keys are gone');
  // A URL whose file name reads as a pattern is that file; a git URL is refused before anything is fetched.
  await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nADD ${url}/odd%5Bname%5D.txt /odd/\n`);
  const odd = await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['odd:1'] });
  t.deepEqual(odd.ran, [`ADD ${url}/odd%5Bname%5D.txt /odd/`]);
  t.is(await readFile(join(await rootfsOf(root, 'odd:1'), 'odd', 'odd[name].txt'), 'utf8'), 'second\n');
  const before = requests;
  await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nADD ${url.replace('/served.txt', '/repo.git')}#main /src\n`);
  await t.throwsAsync(tracedBuild(await dockerfileOptions(root, ctx)), { code: 'E_ADD_UNSUPPORTED' });
  t.is(requests, before);
});

test('a step run with --no-cache gets a new, empty cache mount and leaves the kept one as it was (BuildKit testCacheMountModeNoCache)', async (t) => {
  const { root, cleanup } = await freshRoot();
  t.teardown(cleanup);
  const ctx = await contextCopy('cache');
  t.teardown(() => rm(ctx, { recursive: true, force: true }));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nARG FOO=abc\nRUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls /cache > /out\n');
  const seen = async (buildArgs: Record<string, string>, noCache = false) => {
    await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['cm:1'], buildArgs: new Map(Object.entries(buildArgs)), noCache });
    return (await readFile(join(await rootfsOf(root, 'cm:1'), 'out'), 'utf8')).trim().split('\n');
  };
  t.deepEqual(await seen({}), ['abc']);
  t.deepEqual(await seen({ FOO: 'def' }, true), ['def']);
  t.deepEqual(await seen({ FOO: 'ghi' }), ['abc', 'ghi']);
});
