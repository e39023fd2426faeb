/**
 * Every kiln command as a client of a real `kiln serve` (`--host` / KILN_HOST): each prints what
 * it prints embedded (compared with kiln run on the daemon's own state root) and exits with the
 * same code; run passes exit codes, stdin, signals and a terminal through; pull and push use the
 * client's docker config; save, load and import stream through the daemon.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { cliMain, kiln, repo } from './build-helpers.js';
import { startClientSetup, type ClientSetup, type TestDaemon } from './daemon-helpers.js';
import { startRegistry } from './registry-server.js';
import { checkInteractive, INTERACTIVE_SCRIPT, INTERACTIVE_STEPS, onTerminal } from './terminal-session.js';

const run = promisify(execFile);

let setup: ClientSetup;
let d: TestDaemon;
let local: string;
let tmp: string;
let host: string[];

test.before(async () => {
  setup = await startClientSetup('kiln-daemon-cmds-');
  ({ d, local, tmp, host } = setup);
  // Bound into a container whose user is nobody.
  await chmod(tmp, 0o755);
});

test.after.always(async () => {
  await setup?.cleanup();
});

/** kiln as a client of the test daemon, with a docker config of its own. */
const remote = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => kiln(local, [...host, ...args], input, { DOCKER_CONFIG: join(tmp, 'docker-config'), ...env });
/** kiln embedded on the daemon's own state root, to compare with. */
const embedded = (args: string[], input?: string) => kiln(d.root, args, input);

// Serial: the tag it adds shows in `inspect busybox`, which other tests compare between two calls.
test.serial('docker\'s image management commands (image ls, image inspect, image history, image tag) are the top-level ones, embedded and through the daemon', async (t) => {
  // Filtered to busybox: other tests of this file make images meanwhile, and CREATED moves on.
  const ls = ['-f', 'reference=busybox', '--format', '{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}'];
  for (const [grouped, plain] of [[['image', 'ls', ...ls], ['images', ...ls]], [['image', 'list', '-q', '-f', 'reference=busybox'], ['images', '-q', '-f', 'reference=busybox']], [['image', 'inspect', 'busybox'], ['inspect', 'busybox']], [['image', 'history', 'busybox'], ['history', 'busybox']]]) {
    const [g, p, rg] = await Promise.all([embedded(grouped!), embedded(plain!), remote(grouped!)]);
    t.is(g.code, 0, g.stderr);
    t.not(g.stdout, '');
    t.is(g.stdout, p.stdout, grouped!.join(' '));
    t.is(rg.stdout, p.stdout, `${grouped!.join(' ')} through the daemon`);
  }
  const tagged = await embedded(['image', 'tag', 'busybox', 'grouped:tag']);
  t.is(tagged.code, 0, tagged.stderr);
  t.regex((await embedded(['images'])).stdout, /^grouped +tag /m);
  t.is((await embedded(['image', 'rm', 'grouped:tag'])).code, 0);
});

test('version shows the client, and with --host the daemon, which has to answer', async (t) => {
  const here = await embedded(['version']);
  t.is(here.code, 0, here.stderr);
  const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
  t.regex(here.stdout, new RegExp(`^Client:\\n Version: +${version.replaceAll('.', '\\.')}\\n Node\\.js: +v\\d+`));
  t.notRegex(here.stdout, /Server:/);
  const both = await remote(['version']);
  t.is(both.code, 0, both.stderr);
  t.regex(both.stdout, new RegExp(`\\nServer:\\n Version: +${version.replaceAll('.', '\\.')}\\n API version: +1\\.\\d+\\n`));
  const gone = await kiln(local, ['--host', `unix://${join(tmp, 'no-daemon.sock')}`, 'version']);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /^kiln: cannot reach the kiln daemon at unix:\/\/\S+no-daemon\.sock/m);
});

test('inspect, history, du and check print what they print embedded on the same root', async (t) => {
  for (const args of [['inspect', 'busybox'], ['history', 'busybox'], ['history', '-H', 'false', '--no-trunc', 'busybox'], ['du', '--format', 'json']]) {
    const [r, e] = await Promise.all([remote(args), embedded(args)]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, e.stdout, args.join(' '));
  }
  const check = await remote(['check']);
  t.is(check.code, 0, check.stderr);
  t.regex(check.stderr, /^verified \d+ blobs\nno problems found\n$/);
  const missing = await remote(['inspect', 'nope:1']);
  const missingHere = await embedded(['inspect', 'nope:1']);
  t.is(missing.code, 1);
  t.is(missing.stderr, missingHere.stderr);
});

test.serial('run passes output, exit codes, stdin, env, binds, workdir, user and entrypoint through; the container is gone after', async (t) => {
  const fail = await remote(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.is(fail.code, 3);
  t.is(fail.stdout, 'out\n');
  t.is(fail.stderr, 'err\n');
  const piped = await remote(['run', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], 'piped input\n');
  t.is(piped.stdout, 'PIPED INPUT\n', piped.stderr);
  const envFile = join(tmp, 'env');
  await writeFile(envFile, '# comment\nFROM_FILE=2\n');
  await writeFile(join(tmp, 'bound'), 'from the host\n');
  const many = await remote(
    ['run', '-e', 'A=1', '-e', 'FROM_CLIENT', '--env-file', envFile, '-v', `${tmp}:/data:ro`, '-w', '/data', '-u', 'nobody', '--entrypoint', 'sh', 'busybox', '-c', 'echo "$A $FROM_CLIENT $FROM_FILE $(pwd) $(id -un) $(cat bound)"; touch x 2>/dev/null || echo read-only'],
    undefined,
    { FROM_CLIENT: 'client-side' },
  );
  t.is(many.code, 0, many.stderr);
  t.is(many.stdout, '1 client-side 2 /data nobody from the host\nread-only\n');
  const notFound = await remote(['run', 'busybox', 'no-such-command']);
  t.is(notFound.code, 127);
  t.regex(notFound.stderr, /kiln: .*executable file not found/);
  const ps = await remote(['ps', '-q']);
  t.is(ps.stdout, '');
  const noImage = await remote(['run', 'no-such-image:1', 'true']);
  t.is(noImage.code, 1);
  t.notRegex(noImage.stderr, /\n\s+at /);
  const rootfs = await remote(['run', '--rootfs', tmp, 'true']);
  t.is(rootfs.code, 1);
  t.regex(rootfs.stderr, /--rootfs does not work with --host/);
});

/** `kiln --host ... run` in the background, with its output so far. */
function background(args: string[]) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), cliMain, '--root', local, ...host, 'run', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = async (text: string) => {
    for (let i = 0; i < 600 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
  };
  return { child, exited, output: () => out, until };
}

test.serial('ps lists a container run through the daemon; SIGTERM reaches it; a name in use is refused', async (t) => {
  const job = background(['--name', 'kiln-remote-job', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 5" TERM; echo ready; while true; do sleep 0.1; done']);
  await job.until('ready');
  const ps = await remote(['ps']);
  t.regex(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES\n[0-9a-f]{12}\s+busybox\s+"sh -c trap .*Up .*kiln-remote-job\n$/);
  const twice = await remote(['run', '--name', 'kiln-remote-job', 'busybox', 'true']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /already in use/);
  job.child.kill('SIGTERM');
  t.is(await job.exited, 5);
  t.regex(job.output(), /ready\ngot TERM\n/);

  // A pid 1 that ignores SIGTERM is killed --stop-timeout seconds later.
  const deaf = background(['--stop-timeout', '1', 'busybox', 'sh', '-c', 'trap "" TERM; echo ready; sleep 600']);
  await deaf.until('ready');
  deaf.child.kill('SIGTERM');
  t.is(await deaf.exited, 137);
  t.is((await remote(['ps', '-q'])).stdout, '');
});

test.serial('-it through the daemon: a terminal of the outer size that follows resizes; the local terminal is restored', async (t) => {
  const argv = [process.execPath, '--import', import.meta.resolve('tsx'), cliMain, '--root', local, ...host, 'run', '-it', 'busybox', 'sh', '-c', INTERACTIVE_SCRIPT];
  checkInteractive(t, (await onTerminal(argv, INTERACTIVE_STEPS, { thenStty: true })).stdout);
});

test.serial('save | load and import stream through the daemon; save -o never leaves a partial file', async (t) => {
  const archive = join(tmp, 'bb.tar');
  const saved = await remote(['save', '-o', archive, 'busybox']);
  t.is(saved.code, 0, saved.stderr);
  const embeddedArchive = join(tmp, 'bb-embedded.tar');
  t.is((await embedded(['save', '-o', embeddedArchive, 'busybox'])).code, 0);
  t.deepEqual(await readFile(archive), await readFile(embeddedArchive));
  const oci = join(tmp, 'bb-oci.tar');
  t.is((await remote(['save', '--format', 'oci', '-o', oci, 'busybox'])).code, 0);
  const info = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${oci}`])).stdout) as { Architecture: string };
  t.is(info.Architecture, 'amd64');

  t.is((await remote(['rmi', 'busybox'])).code, 0);
  const loaded = await remote(['load', '-i', archive]);
  t.is(loaded.code, 0, loaded.stderr);
  t.is(loaded.stdout, 'Loaded image: busybox:latest\n');
  // From stdin, streamed as it is read.
  const quiet = await run('sh', ['-c', 'exec "$@" < "$0"', archive, process.execPath, '--import', import.meta.resolve('tsx'), cliMain, '--root', local, ...host, 'load', '-q']);
  t.is(quiet.stdout, '');
  // Compressed, as `docker save | gzip` writes it: the daemon decompresses it, as docker load does.
  await writeFile(`${archive}.gz`, gzipSync(await readFile(archive)));
  t.is((await remote(['rmi', 'busybox'])).code, 0);
  const gz = await remote(['load', '-i', `${archive}.gz`]);
  t.is(gz.stdout, 'Loaded image: busybox:latest\n', gz.stderr);

  const missing = await remote(['save', '-o', join(tmp, 'none.tar'), 'nope:1']);
  t.is(missing.code, 1);
  await t.throwsAsync(stat(join(tmp, 'none.tar')));

  const rootfsTar = join(tmp, 'rootfs.tar');
  await run('tar', ['-C', repo, '-cf', rootfsTar, 'fixtures/make-busybox-rootfs.sh']);
  const imported = await remote(['import', '-c', 'CMD ["cat", "/fixtures/make-busybox-rootfs.sh"]', '--compression', 'zstd', rootfsTar, 'imported:1']);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const inspected = JSON.parse((await remote(['inspect', 'imported:1'])).stdout) as { Id: string; Config: { Cmd: string[] }; Comment: string }[];
  t.is(inspected[0]!.Id, imported.stdout.trim());
  t.deepEqual(inspected[0]!.Config.Cmd, ['cat', '/fixtures/make-busybox-rootfs.sh']);
  t.is(inspected[0]!.Comment, 'Imported from rootfs.tar');
  const badChange = await remote(['import', '-c', 'NOPE x', rootfsTar]);
  t.is(badChange.code, 1);
  t.regex(badChange.stderr, /^kiln: invalid --change "NOPE x"/m);
});

test.serial('login checks through the daemon and saves in the client config; push and pull use it; prune reports kiln counts', async (t) => {
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, (await run('htpasswd', ['-Bbn', 'kiln', 's3cret'])).stdout);
  const reg = await startRegistry({ htpasswd });
  try {
    const target = `${reg.host}/team/bb:1`;
    const anonymous = await remote(['push', 'busybox', target]);
    t.is(anonymous.code, 1);
    t.regex(anonymous.stderr, /unauthorized|authentication/i);
    const wrong = await remote(['login', reg.host, '-u', 'kiln', '--password-stdin'], 'nope\n');
    t.is(wrong.code, 1);
    await t.throwsAsync(stat(join(tmp, 'docker-config', 'config.json')));
    const login = await remote(['login', reg.host, '-u', 'kiln', '--password-stdin'], 's3cret\n');
    t.is(login.code, 0, login.stderr);
    t.regex(login.stdout, /Login Succeeded \(credentials saved in .*docker-config\/config\.json\)/);

    const pushed = await remote(['push', 'busybox', target]);
    t.is(pushed.code, 0, pushed.stderr);
    t.regex(pushed.stdout, new RegExp(`^Pushed ${reg.host.replace(/\./g, '\\.')}/team/bb:1: 2 blob\\(s\\) uploaded, 0 mounted, 0 already present\\n1: digest: sha256:[0-9a-f]{64} size: \\d+\\n$`));
    // Pushed under another name without tagging it on the daemon.
    t.notRegex((await remote(['images'])).stdout, /team\/bb/);
    const pulled = await remote(['pull', target]);
    t.is(pulled.code, 0, pulled.stderr);
    // Every blob is on the daemon already: only the name is new.
    t.regex(pulled.stdout, new RegExp(`^Digest: sha256:[0-9a-f]{64}\\nStatus: Image is up to date for ${reg.host.replace(/\./g, '\\.')}/team/bb:1\\n`));
    const again = await remote(['pull', '-q', target]);
    t.regex(again.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const flags = await remote(['pull', '--insecure-registry', reg.host, target]);
    t.is(flags.code, 1);
    t.regex(flags.stderr, /registries\.json/);
    t.is((await remote(['logout', reg.host])).stdout, `Removing login credentials for ${reg.host}\n`);
  } finally {
    await reg.stop();
  }
  const pruned = await remote(['prune', '-f', '--keep-storage', '1GB', '--filter', 'until=1h']);
  t.is(pruned.code, 0, pruned.stderr);
  t.regex(pruned.stdout, /^Deleted build cache records: \d+\nDeleted blobs: \d+, snapshots: \d+, cache mounts: \d+\nTotal reclaimed space: \S+\n$/);
});
