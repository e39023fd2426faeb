/**
 * `kiln --host ... build` with the flags whose work is not only the daemon's: --explain (miss
 * reasons carried in the events), -o oci/docker/tar/local (streamed back and written by the
 * client), --push and registry --cache-to/--cache-from (done by the daemon with the client's
 * credentials from its docker config), --secret (sent for the build only), --build-context DIR
 * (uploaded digest-first), and the refusals (--allow without the daemon's grant, type=local caches,
 * the registry flags, which the daemon's registries.json replaces).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixtures, kiln } from './build-helpers.js';
import { cliBuild } from './cli-build.js';
import { startClientSetup, startDaemon, type ClientSetup, type TestDaemon } from './daemon-helpers.js';
import { startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);

let setup: ClientSetup;
let d: TestDaemon;
let local: string;
let tmp: string;
let host: string[];

test.before(async () => {
  setup = await startClientSetup('kiln-daemon-flags-');
  ({ d, local, tmp, host } = setup);
  // Every kiln this file runs is a client with credentials of its own.
  process.env.DOCKER_CONFIG = join(tmp, 'docker-config');
});

test.after.always(async () => {
  await setup?.cleanup();
});

/** A context directory with these files. */
async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}

test('--explain says why each step missed, across builds of the same client context', async (t) => {
  const ctx = await context('explain', { Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt\n', 'a.txt': 'one\n' });
  const first = await kiln(local, [...host, 'build', '--progress', 'plain', '--explain', ctx]);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /#\d+ cache miss: first build/);
  await writeFile(join(ctx, 'a.txt'), 'two\n');
  const second = await kiln(local, [...host, 'build', '--progress', 'plain', '--explain', ctx]);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /#\d+ cache miss: context files changed: a\.txt/);
  t.regex(second.stderr, /#\d+ cache miss: parent step #\d+ changed/);
  t.notRegex(second.stderr, /first build/);
});

test("the Dockerfile's check warnings are printed after a build through the daemon as after an embedded one", async (t) => {
  const ctx = await context('checks', { Dockerfile: 'FROM busybox as base\nCMD echo hi\n' });
  const expected = [
    "WARNING: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (Dockerfile:1)",
    'WARNING: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (Dockerfile:2)',
  ];
  for (const global of [host, []]) {
    const r = await kiln(local, [...global, 'build', '--progress', 'plain', ctx]);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('WARNING: ')), expected, global.length ? 'through the daemon' : 'embedded');
    for (const progress of ['rawjson', 'quiet']) {
      const machine = await kiln(local, [...global, 'build', '--progress', progress, ctx]);
      t.is(machine.code, 0, machine.stderr);
      t.notRegex(machine.stderr, /WARNING/, `none with --progress ${progress}, as buildx`);
    }
  }
});

test('-o oci, docker, tar and local come back to the client; the tar is the one an embedded build writes', async (t) => {
  const ctx = await context('outputs', { Dockerfile: 'FROM busybox\nCOPY . /ctx\n', 'f.txt': 'exported\n' });
  const out = join(tmp, 'out');
  const outputs = ['-o', `type=oci,dest=${out}/app.oci.tar`, '-o', `type=docker,dest=${out}/app.docker.tar`, '-o', `type=tar,dest=${out}/rootfs.tar`, '-o', `type=local,dest=${out}/dir`];
  const meta = join(tmp, 'outputs-meta.json');
  // COPY makes /ctx at the time of the build, as BuildKit does, unless SOURCE_DATE_EPOCH says otherwise:
  // with it, two builds of the same context give the same tar.
  const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
  const remote = await kiln(local, [...host, 'build', '-t', 'exported:1', '--metadata-file', meta, ...outputs, ctx], undefined, epoch);
  t.is(remote.code, 0, remote.stderr);
  // The OCI archive's layers are gzip copies of the daemon's plain ones: its manifest is the one to report.
  const index = JSON.parse((await run('tar', ['-xOf', `${out}/app.oci.tar`, 'index.json'])).stdout) as { manifests: { digest: string; mediaType: string }[] };
  const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string; 'containerimage.descriptor': { digest: string; mediaType: string } };
  t.is(m['containerimage.digest'], index.manifests[0]!.digest);
  t.deepEqual(m['containerimage.descriptor'], { digest: index.manifests[0]!.digest, mediaType: index.manifests[0]!.mediaType });
  t.is(await readFile(join(out, 'dir', 'ctx', 'f.txt'), 'utf8'), 'exported\n');
  t.truthy(await readFile(join(out, 'dir', 'bin', 'busybox')));
  const oci = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${out}/app.oci.tar`])).stdout) as { Layers: string[] };
  const docker = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${out}/app.docker.tar`])).stdout) as { Layers: string[] };
  t.is(oci.Layers.length, 2);
  t.is(docker.Layers.length, 2);
  // Named after the first -t, as an embedded build names its archive.
  const manifest = JSON.parse((await run('tar', ['-xOf', `${out}/app.docker.tar`, 'manifest.json'])).stdout) as { RepoTags: string[] }[];
  t.deepEqual(manifest[0]!.RepoTags, ['exported:1']);
  // With outputs other than images the build names nothing, embedded or not.
  t.notRegex((await kiln(d.root, ['images'])).stdout, /exported/);
  const embedded = await kiln(local, ['build', '-o', `type=tar,dest=${out}/embedded.tar`, ctx], undefined, epoch);
  t.is(embedded.code, 0, embedded.stderr);
  t.deepEqual(await readFile(join(out, 'rootfs.tar')), await readFile(join(out, 'embedded.tar')));
  t.deepEqual((await readdir(out)).filter((f) => f.includes('.tmp')), []);
});

test('--add-host reaches the RUN containers the daemon starts, a bad one is refused before anything is sent; --platform is checked by the daemon', async (t) => {
  const ctx = await context('add-host', { Dockerfile: 'FROM busybox\nRUN grep db.internal /etc/hosts\n' });
  const ok = await kiln(local, [...host, 'build', '--progress', 'plain', '--add-host', 'db.internal:10.9.8.7', ctx]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stderr, /10\.9\.8\.7\tdb\.internal/);
  const bad = await kiln(local, [...host, 'build', '--add-host', 'db.internal:nowhere', ctx]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /invalid --add-host "db.internal:nowhere"/);
  // --platform is the daemon's to check: it builds for its own platform only.
  const [here, other] = process.arch === 'arm64' ? ['linux/arm64', 'linux/amd64'] : ['linux/amd64', 'linux/arm64'];
  t.is((await kiln(local, [...host, 'build', '--platform', here, '--add-host', 'db.internal:10.9.8.7', ctx])).code, 0);
  const elsewhere = await kiln(local, [...host, 'build', '--platform', other, ctx]);
  t.is(elsewhere.code, 1);
  t.regex(elsewhere.stderr, new RegExp(`cannot build for platform "${other}": kiln builds for this machine's platform only`));
});

test('--secret reaches the RUN that mounts it and is stored and logged nowhere on the daemon', async (t) => {
  const value = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  const sha = createHash('sha256').update(value).digest('hex');
  const ctx = await context('secret', { Dockerfile: `FROM busybox\nRUN --mount=type=secret,id=tok,required=true test "$(sha256sum < /run/secrets/tok)" = "${sha}  -" && echo secret-ok\n` });
  await writeFile(join(tmp, 'tok'), value);
  const ok = await kiln(local, [...host, 'build', '--progress', 'plain', '--secret', `id=tok,src=${join(tmp, 'tok')}`, ctx]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stderr, /secret-ok/);
  const fromEnv = await kiln(local, [...host, 'build', '--no-cache', '--progress', 'plain', '--secret', 'id=tok,env=TOKEN', ctx], undefined, { TOKEN: value });
  t.is(fromEnv.code, 0, fromEnv.stderr);
  const missing = await kiln(local, [...host, 'build', '--no-cache', ctx]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /secret "tok" is required but was not provided/);
  t.notRegex(d.log(), new RegExp(value));
  const grep = await run('grep', ['-rl', value, d.root]).catch((e: { code: number; stdout: string }) => e);
  t.is((grep as { code?: number }).code, 1, `the secret is in ${(grep as { stdout: string }).stdout}`);
});

test('--build-context NAME=DIR is uploaded digest-first like the main context', async (t) => {
  const ctx = await context('named-main', { Dockerfile: 'FROM busybox\nCOPY --from=extra note.txt /note.txt\nCMD ["cat", "/note.txt"]\n' });
  const extra = await context('named-extra', { 'note.txt': `from the named context ${Math.random()}\n` });
  const first = await kiln(local, [...host, 'build', '-t', 'named:1', '--build-context', `extra=${extra}`, ctx]);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /sent build context to .*: 2 files, \d+ bytes/);
  t.is((await kiln(d.root, ['run', '--rm', 'named:1'])).stdout, await readFile(join(extra, 'note.txt'), 'utf8'));
  const again = await kiln(local, [...host, 'build', '-t', 'named:1', '--build-context', `extra=${extra}`, ctx]);
  t.regex(again.stderr, /sent build context to .*: 0 files, 0 bytes/);
  // An image as the named context passes through to the daemon, which has it.
  const image = await kiln(local, [...host, 'build', '-t', 'named:2', '--build-context', 'extra=docker-image://named:1', ctx]);
  t.is(image.code, 0, image.stderr);
  t.is((await kiln(d.root, ['run', '--rm', 'named:2'])).stdout, await readFile(join(extra, 'note.txt'), 'utf8'));
});

test('--allow security.insecure needs the daemon to grant it; type=local caches and the registry flags are refused with a hint', async (t) => {
  const ctx = await context('refusals', { Dockerfile: 'FROM busybox\nRUN true\n' });
  const allow = await kiln(local, [...host, 'build', '--allow', 'security.insecure', ctx]);
  t.is(allow.code, 1);
  t.regex(allow.stderr, /does not grant the security\.insecure entitlement/);
  t.regex(allow.stderr, /--allow-insecure-entitlement security\.insecure/);
  const localCache = await kiln(local, [...host, 'build', '--cache-to', `type=local,dest=${tmp}/cache`, ctx]);
  t.is(localCache.code, 1);
  t.regex(localCache.stderr, /type=local cache does not work with --host/);
  const caFile = await kiln(local, [...host, 'build', '--ca-file', join(tmp, 'ca.pem'), ctx]);
  t.is(caFile.code, 1);
  t.regex(caFile.stderr, /--ca-file does not apply with --host/);
  t.regex(caFile.stderr, /registries\.json/);
  t.notRegex(allow.stderr + localCache.stderr + caFile.stderr, /\n\s+at /);

  const granting = await startDaemon({ args: ['--allow-insecure-entitlement', 'security.insecure'] });
  try {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN --security=insecure mkdir -p /mnt && mount -t tmpfs none /mnt && umount /mnt && echo unconfined\n');
    const unconfined = await kiln(local, ['--host', `unix://${granting.socket}`, 'build', '--progress', 'plain', '--allow', 'security.insecure', ctx]);
    t.is(unconfined.code, 0, unconfined.stderr);
    t.regex(unconfined.stderr, /unconfined/);
  } finally {
    await granting.cleanup();
  }
});

test.serial('--push and registry caches use the client credentials; a pruned daemon rebuilds from --cache-from', async (t) => {
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, (await run('htpasswd', ['-Bbn', 'kiln', 's3cret'])).stdout);
  const reg: RegistryServer = await startRegistry({ htpasswd });
  try {
    const target = `${reg.host}/kiln/app:1`;
    const cache = `${reg.host}/kiln/cache:max`;
    const flags = ['--push', '-t', target, '--cache-to', `type=registry,ref=${cache},mode=max`];
    const anonymous = await cliBuild(local, flags, join(fixtures, 'cache-remote'), host);
    t.is(anonymous.code, 1);
    t.regex(anonymous.stderr, /unauthorized|authentication/i);
    t.is((await kiln(local, [...host, 'login', reg.host, '-u', 'kiln', '--password-stdin'], 's3cret\n')).code, 0);
    const pushed = await cliBuild(local, flags, join(fixtures, 'cache-remote'), host);
    t.is(pushed.code, 0, pushed.stderr);
    t.true(pushed.stderr.includes(`pushed ${target}@${pushed.digest}`), pushed.stderr);
    t.regex(pushed.stderr, new RegExp(`exported cache to ${cache.replace(/[.]/g, '\\.')}: \\d+ records`));
    const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'kiln:s3cret', `docker://${target}`])).stdout) as { Digest: string };
    t.is(inspected.Digest, pushed.digest);

    t.is((await kiln(local, [...host, 'prune', '-a', '-f'])).code, 0);
    const rebuilt = await cliBuild(local, ['--cache-from', `type=registry,ref=${cache}`], join(fixtures, 'cache-remote'), host);
    t.is(rebuilt.code, 0, rebuilt.stderr);
    t.deepEqual(rebuilt.ran, [], 'every step came from the registry cache');
    // The same image; its manifest is the store's (plain layers), not the pushed one (gzip).
    t.is(rebuilt.imageId, pushed.imageId);

    // A private base image is pulled with the client's credentials too.
    t.is((await kiln(local, [...host, 'rmi', target])).code, 0);
    const ctx = await context('private-base', { Dockerfile: `FROM ${target}\nRUN cat /app/final\n` });
    const based = await kiln(local, [...host, 'build', ctx]);
    t.is(based.code, 0, based.stderr);
    t.is((await kiln(local, [...host, 'logout', reg.host])).code, 0);
    t.is((await kiln(local, [...host, 'rmi', target])).code, 0);
    const stranger = await kiln(local, [...host, 'build', '--no-cache', ctx]);
    t.is(stranger.code, 1);
    t.regex(stranger.stderr, /could not be pulled: .*(unauthorized|authentication)/i);
  } finally {
    await reg.stop();
  }
});
