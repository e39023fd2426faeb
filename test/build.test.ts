import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../cache/index.js';
import { contextCopy, freshRoot, freshRootAndContext, kiln, rootfsOf } from './build-helpers.js';

// One multi-stage build with every instruction, checked file by file and field by field.
test('the every-instruction fixture builds to what the Dockerfile means', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await contextCopy('every');
  try {
    await mkdir(join(ctx, 'pack'));
    await writeFile(join(ctx, 'pack', 'inner.txt'), 'inside\n');
    execFileSync('tar', ['-C', join(ctx, 'pack'), '-cf', join(ctx, 'archive.tar'), 'inner.txt']);
    const meta = join(ctx, 'meta.json');
    const r = await kiln(root, ['build', '--progress', 'plain', '--build-arg', 'MSG=hi', '--label', 'extra=1', '-t', 'every:test', '--iidfile', join(ctx, 'iid'), '--metadata-file', meta, ctx]);
    t.is(r.code, 0, r.stderr);

    const fs = await rootfsOf(root, 'every:test');
    const read = (p: string) => readFile(join(fs, p), 'utf8');
    t.is(await read('srv/app/built.txt'), 'hi\nmain\n');
    t.is(await read('h.txt'), 'heredoc\n');
    t.is(await read('other.txt'), 'other\n');
    t.is(await read('extracted/inner.txt'), 'inside\n');
    t.is(await read('etc/motd'), 'welcome hi\n');
    t.is(await read('tmp/uid'), '65534\n');
    t.is(await read('tmp/msg'), 'hi\n');
    const data = await stat(join(fs, 'srv/app/data/main.txt'));
    t.is(data.mode & 0o7777, 0o640);
    t.is(data.uid, 65534);
    t.is(data.gid, 65534);
    const appDir = await stat(join(fs, 'srv/app'));
    t.true(appDir.isDirectory());
    await t.throwsAsync(stat(join(fs, 'srv/app/ignored.txt')));

    const store = await openStore(root);
    const img = await store.resolveImage('every:test');
    store.close();
    t.is((await readFile(join(ctx, 'iid'), 'utf8')).trim(), img.configDigest);
    const m = JSON.parse(await readFile(meta, 'utf8'));
    t.is(m['containerimage.digest'], img.manifestDigest);
    t.is(m['containerimage.config.digest'], img.configDigest);

    const c = img.config.config!;
    t.deepEqual(c.Env, ['PATH=/srv/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/srv/app']);
    t.deepEqual(c.Cmd, ['cat /srv/app/built.txt']);
    t.true(c.ArgsEscaped);
    t.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    t.is(c.User, 'nobody');
    t.is(c.WorkingDir, '/srv/app');
    t.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
    t.deepEqual(c.Volumes, { '/data': {} });
    t.deepEqual(c.Labels, { 'org.example.name': 'every', version: '1', extra: '1' });
    t.is(c.StopSignal, 'SIGTERM');
    t.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O- localhost:8080 || exit 1'], Interval: 30_000_000_000 });
    t.deepEqual(c.OnBuild, ['RUN echo child > /tmp/child']);
    t.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    t.is(img.config.author, 'kiln');

    const history = img.config.history!;
    const ours = history.slice(1).map((h) => h.created_by);
    t.deepEqual(ours, [
      'LABEL org.example.name=every version=1',
      'MAINTAINER kiln',
      'ENV APP_HOME=/srv/app PATH=/srv/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'ARG MSG=hi',
      'WORKDIR /srv/app',
      'COPY /src/built.txt ./built.txt # buildkit',
      'COPY /out/h.txt /h.txt # buildkit',
      'COPY /other.txt /other.txt # buildkit',
      'COPY --chown=nobody:nogroup --chmod=0640 app/main.txt data/ # buildkit',
      'ADD archive.tar /extracted/ # buildkit',
      'COPY <<EOF /etc/motd # buildkit',
      'USER nobody',
      'RUN |1 MSG=hi /bin/sh -c id -u > /tmp/uid && echo "$MSG" > /tmp/msg # buildkit',
      'EXPOSE [53/udp 8080/tcp]',
      'VOLUME [/data]',
      'SHELL [/bin/sh -ec]',
      'HEALTHCHECK {Test:[CMD-SHELL wget -q -O- localhost:8080 || exit 1] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}',
      'STOPSIGNAL SIGTERM',
      'ENTRYPOINT ["/bin/sh" "-c"]',
      'CMD ["cat /srv/app/built.txt"]',
    ]);
    t.true(history.slice(1).every((h) => h.comment === 'buildkit.dockerfile.v0'));
    t.is(history.filter((h) => !h.empty_layer).length, img.layers.length);
    t.is(img.config.rootfs.diff_ids.length, img.layers.length);

    // A child image runs the ONBUILD trigger first, with the inherited SHELL.
    const child = join(ctx, 'child');
    await mkdir(child);
    await writeFile(join(child, 'Dockerfile'), 'FROM every:test\nRUN cat /tmp/child\n');
    const r2 = await kiln(root, ['build', '--progress', 'plain', '-t', 'child', child]);
    t.is(r2.code, 0, r2.stderr);
    const childFs = await rootfsOf(root, 'child');
    t.is(await readFile(join(childFs, 'tmp/child'), 'utf8'), 'child\n');
    const store2 = await openStore(root);
    const childImg = await store2.resolveImage('child');
    store2.close();
    t.false('OnBuild' in childImg.config.config!);
    t.true(childImg.config.history!.some((h) => h.created_by === 'RUN /bin/sh -ec echo child > /tmp/child # buildkit'));
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('a context with only a lowercase dockerfile builds from it, and its errors name it so (BuildKit testDockerfileLowercase)', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-lower-');
  await writeFile(join(ctx, 'dockerfile'), 'FROM busybox\nENV FROM_LOWERCASE=1\n');
  const r = await kiln(root, ['build', '-t', 'lower:1', ctx]);
  t.is(r.code, 0, r.stderr);
  t.regex((await kiln(root, ['inspect', 'lower:1'])).stdout, /FROM_LOWERCASE=1/);
  await writeFile(join(ctx, 'dockerfile'), 'FROM busybox\nBOGUS x\n');
  const bad = await kiln(root, ['build', ctx]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^dockerfile:2:1: /m);
});

test('buildx flags CI scripts pass: --platform of this machine, --load, --add-host, --provenance/--sbom=false; another platform and --ssh are refused', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-flags-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN cat /etc/hosts > /hosts\n');
  const [here, other] = process.arch === 'arm64' ? ['linux/arm64', 'linux/amd64'] : ['linux/amd64', 'linux/arm64'];
  const r = await kiln(root, ['build', '--platform', here, '--load', '--add-host', 'db.internal:10.1.2.3', '--add-host', 'v6=fd00::7', '-t', 'flags:1', ctx]);
  t.is(r.code, 0, r.stderr);
  const hosts = (await kiln(root, ['run', '--rm', 'flags:1', 'cat', '/hosts'])).stdout;
  t.regex(hosts, /^10\.1\.2\.3\tdb\.internal$/m);
  t.regex(hosts, /^fd00::7\tv6$/m);
  // --load beside an -o that sends the image elsewhere still names it in the store; without --load it does not.
  const loaded = await kiln(root, ['build', '--load', '-t', 'flags:2', '-o', `type=tar,dest=${join(ctx, 'fs.tar')}`, ctx]);
  t.is(loaded.code, 0, loaded.stderr);
  t.is((await kiln(root, ['inspect', '-f', '{{json .RepoTags}}', 'flags:2'])).stdout, '["flags:2"]\n');
  t.is((await kiln(root, ['build', '-t', 'flags:3', '-o', `type=tar,dest=${join(ctx, 'fs.tar')}`, ctx])).code, 0);
  t.is((await kiln(root, ['inspect', 'flags:3'])).code, 1);
  const refused = await kiln(root, ['build', '--platform', `${here},${other}`, ctx]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`^kiln: cannot build for platform "${other}": kiln builds for this machine's platform only \\(${here}\\)$`, 'm'));
  const badHost = await kiln(root, ['build', '--add-host', 'db', ctx]);
  t.is(badHost.code, 1);
  t.regex(badHost.stderr, /^kiln: invalid --add-host "db": not HOST:IP$/m);
  const quiet = await kiln(root, ['build', '--provenance=false', '--sbom=false', ctx]);
  t.is(quiet.code, 0, quiet.stderr);
  t.notRegex(quiet.stderr, /WARNING/);
  const asked = await kiln(root, ['build', '--provenance=mode=max', ctx]);
  t.is(asked.code, 0, asked.stderr);
  t.regex(asked.stderr, /^WARNING: --provenance: kiln makes no attestations; the image has none$/m);
  // Refused, not taken for --push as commander would suggest.
  const ssh = await kiln(root, ['build', '--ssh', 'default', ctx]);
  t.is(ssh.code, 1);
  t.regex(ssh.stderr, /^kiln: --ssh is not supported yet: kiln forwards no SSH agent/m);
});

test('steps are numbered as BuildKit numbers them (testStepNames, prefixCommand): FROM an image, RUN, COPY, ADD and WORKDIR count; FROM scratch, FROM a stage and config-only instructions do not', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-steps-');
  await writeFile(join(ctx, 'a.txt'), 'a\n');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox AS base\nENV A=1\nRUN echo > /out\nLABEL l=1\nFROM scratch AS out\nCOPY --from=base /out /out\nCOPY a.txt /a.txt\nFROM base AS child\nENV B=2\nWORKDIR /w\nRUN echo child\n');
  const r = await kiln(root, ['build', '--progress', 'plain', '--target', 'child', ctx]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /\[base 1\/2\] FROM busybox/);
  t.regex(r.stderr, /\[base 2\/2\] RUN echo > \/out/);
  t.regex(r.stderr, /\[child 1\/2\] WORKDIR \/w/);
  t.regex(r.stderr, /\[child 2\/2\] RUN echo child/);
  const scratch = await kiln(root, ['build', '--progress', 'plain', '--target', 'out', ctx]);
  t.is(scratch.code, 0, scratch.stderr);
  t.regex(scratch.stderr, /\[out 1\/2\] COPY --from=base \/out \/out/);
  t.regex(scratch.stderr, /\[out 2\/2\] COPY a\.txt \/a\.txt/);
});

test('an OCI or docker archive output names the image after every -t, as buildx does', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-names-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nENV NAMED=twice\n');
  const oci = join(ctx, 'out.oci.tar');
  const docker = join(ctx, 'out.docker.tar');
  const r = await kiln(root, ['build', '-t', 'org/repo:tag1', '-t', 'org/repo:tag2', '-o', `type=oci,dest=${oci}`, '-o', `type=docker,dest=${docker}`, ctx]);
  t.is(r.code, 0, r.stderr);
  const index = JSON.parse(execFileSync('tar', ['-xOf', oci, 'index.json'], { encoding: 'utf8' })) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  t.deepEqual(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']), ['tag1', 'tag2']);
  t.is(index.manifests[0]!.digest, index.manifests[1]!.digest);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', docker, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
  t.deepEqual(manifest.map((m) => m.RepoTags), [['org/repo:tag1', 'org/repo:tag2']]);
});

test("an archive output's name= names the image when there is no -t, and --metadata-file's image.name gives the archive's names (BuildKit exporter/oci)", async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-archive-name-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nENV NAMED=by-output\n');
  const oci = join(ctx, 'out.oci.tar');
  const docker = join(ctx, 'out.docker.tar');
  const meta = join(ctx, 'meta.json');
  const r = await kiln(root, ['build', '-o', `type=oci,dest=${oci},name=org/repo:one`, '-o', `type=docker,dest=${docker},name=org/repo:one`, '--metadata-file', meta, ctx]);
  t.is(r.code, 0, r.stderr);
  const index = JSON.parse(execFileSync('tar', ['-xOf', oci, 'index.json'], { encoding: 'utf8' })) as { manifests: { annotations?: Record<string, string> }[] };
  t.is(index.manifests.length, 1);
  const { 'org.opencontainers.image.created': created, ...names } = index.manifests[0]!.annotations ?? {};
  t.deepEqual(names, { 'io.containerd.image.name': 'docker.io/org/repo:one', 'org.opencontainers.image.ref.name': 'one' });
  t.regex(created ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "the index entry says when the image was made, to the second (BuildKit's OCI exporter)");
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', docker, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
  t.deepEqual(manifest.map((m) => m.RepoTags), [['org/repo:one']]);
  t.is((JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>)['image.name'], 'docker.io/org/repo:one');
});

test('--metadata-file after only local and tar outputs holds no image keys, as BuildKit\'s local and tar exporters give none', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-rootfs-meta-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nENV A=1\n');
  const meta = join(ctx, 'meta.json');
  const r = await kiln(root, ['build', '-o', `type=local,dest=${join(ctx, 'out')}`, '-o', `type=tar,dest=${join(ctx, 'out.tar')}`, '--metadata-file', meta, ctx]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(await readFile(meta, 'utf8')), {});
  const withImage = await kiln(root, ['build', '-o', `type=local,dest=${join(ctx, 'out2')}`, '--load', '--metadata-file', meta, ctx]);
  t.is(withImage.code, 0, withImage.stderr);
  t.truthy((JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>)['containerimage.digest']);
});
