/**
 * `kiln serve` driven by the stock docker CLI (28.x): over a UNIX socket version, images, tag, rmi,
 * run (output, exit code, piped stdin), ps, logs, stop, rm, build, save | load, login, push, pull on
 * one shared daemon; then daemons of their own for socket permissions, TLS, refused plain TCP and
 * SIGTERM during a build. One file, so the busybox base root is made once.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { kiln } from './build-helpers.js';
import { docker, dockerOk, http, shell, startDaemon, type TestDaemon } from './daemon-helpers.js';
import { freePort, makeCertificates, startRegistry } from './registry-server.js';
import { checkInteractive, INTERACTIVE_SCRIPT, INTERACTIVE_STEPS, onTerminal } from './terminal-session.js';

const run = promisify(execFile);

let d: TestDaemon;

test.before(async () => {
  d = await startDaemon();
});

test.after.always(async () => {
  await d?.cleanup();
});

test('docker version negotiates API 1.41 with the kiln engine', async (t) => {
  const out = await dockerOk(d.socket, ['version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}} {{.Client.APIVersion}}']);
  t.is(out.trim(), 'kiln 1.41 1.41');
});

test('/_ping carries API-Version; version prefixes route; unknown endpoints and versions are JSON errors', async (t) => {
  const ping = await http(d.socket, 'GET', '/_ping');
  t.is(ping.status, 200);
  t.is(ping.body, 'OK');
  t.is(ping.headers['api-version'], '1.41');
  t.is((await http(d.socket, 'GET', '/v1.30/version')).status, 200);
  const unknown = await http(d.socket, 'GET', '/v1.41/networks');
  t.is(unknown.status, 404);
  t.regex((JSON.parse(unknown.body) as { message: string }).message, /kiln does not implement GET \/networks/);
  const tooNew = await http(d.socket, 'GET', '/v1.99/version');
  t.is(tooNew.status, 400);
  t.regex(tooNew.body, /too new/);
  const method = await http(d.socket, 'PUT', '/images/json');
  t.is(method.status, 405);
});

test('malformed and oversized bodies get 400/413 and the daemon keeps serving', async (t) => {
  const bad = await http(d.socket, 'POST', '/containers/create', '{not json', { 'Content-Type': 'application/json' });
  t.is(bad.status, 400);
  t.regex(bad.body, /not valid JSON/);
  const huge = await http(d.socket, 'POST', '/containers/create', Buffer.alloc(2 << 20, 0x20), { 'Content-Type': 'application/json' });
  t.is(huge.status, 413);
  const raw = await http(d.socket, 'GET', '/containers/json');
  t.is(raw.status, 200);
  // An endless body: answered 413, then the connection is cut; the daemon keeps serving.
  const endless = await new Promise<{ status?: number; cut: boolean }>((resolve) => {
    const req = request({ socketPath: d.socket, method: 'POST', path: '/containers/create', headers: { 'Content-Type': 'application/json' } });
    let status: number | undefined;
    req.on('response', (res) => {
      status = res.statusCode;
      res.resume();
    });
    req.on('error', () => resolve({ status, cut: true }));
    req.on('close', () => resolve({ status, cut: true }));
    const chunk = Buffer.alloc(64 << 10, 0x20);
    const pump = () => {
      while (!req.destroyed && req.write(chunk));
      if (!req.destroyed) req.once('drain', pump);
    };
    pump();
  });
  t.is(endless.status, 413);
  t.true(endless.cut);
  t.is((await http(d.socket, 'GET', '/_ping')).status, 200);
});

test('docker images, tag, image inspect, history and rmi', async (t) => {
  await dockerOk(d.socket, ['tag', 'busybox', 'example.com/team/bb:1']);
  const images = await dockerOk(d.socket, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  t.true(images.split('\n').includes('busybox:latest'));
  t.true(images.split('\n').includes('example.com/team/bb:1'));
  const tags = JSON.parse(await dockerOk(d.socket, ['image', 'inspect', '--format', '{{json .RepoTags}}', 'example.com/team/bb:1'])) as string[];
  t.true(tags.includes('example.com/team/bb:1'));
  t.regex(await dockerOk(d.socket, ['history', 'busybox']), /Imported from rootfs\.tar/);
  t.regex(await dockerOk(d.socket, ['rmi', 'example.com/team/bb:1']), /Untagged: example\.com\/team\/bb:1/);
  const missing = await docker(d.socket, ['image', 'inspect', 'example.com/team/bb:1']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /not found/);
});

test('docker run --rm prints the output and returns the exit code', async (t) => {
  const hi = await docker(d.socket, ['run', '--rm', 'busybox', 'echo', 'hi']);
  t.is(hi.code, 0, hi.stderr);
  t.is(hi.stdout, 'hi\n');
  const fail = await docker(d.socket, ['run', '--rm', '-e', 'WHO=kiln', 'busybox', 'sh', '-c', 'echo "out $WHO"; echo err >&2; exit 3']);
  t.is(fail.code, 3);
  t.is(fail.stdout, 'out kiln\n');
  t.is(fail.stderr, 'err\n');
});

test('docker run -i passes piped stdin; -v binds a host directory', async (t) => {
  const r = await docker(d.socket, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo end'], { input: 'piped input\n' });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'PIPED INPUT\nend\n');
  const host = await mkdtemp(join(tmpdir(), 'kiln-daemon-vol-'));
  try {
    await writeFile(join(host, 'f'), 'from host\n');
    t.is(await dockerOk(d.socket, ['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'cat', '/data/f']), 'from host\n');
  } finally {
    await rm(host, { recursive: true, force: true });
  }
});

test('docker run -it on a terminal: the container gets one of the client size, follows resizes, reads what is typed; exit code passed', async (t) => {
  const env = `DOCKER_HOST=unix://${d.socket} DOCKER_CONFIG=${join(d.dir, 'docker-config')}`;
  checkInteractive(t, (await onTerminal(['sh', '-c', `${env} exec docker run --rm -it busybox sh -c '${INTERACTIVE_SCRIPT}'`], INTERACTIVE_STEPS, { thenStty: true })).stdout);

  // A -t container's log is its terminal output, one stream, sent raw.
  await dockerOk(d.socket, ['run', '-d', '-t', '--name', 'tty-logs', 'busybox', 'sh', '-c', 'echo to-terminal; echo also >&2']);
  await dockerOk(d.socket, ['wait', 'tty-logs']);
  t.is(await dockerOk(d.socket, ['logs', 'tty-logs']), 'to-terminal\r\nalso\r\n');
  t.is((await dockerOk(d.socket, ['inspect', '--format', '{{.Config.Tty}}', 'tty-logs'])).trim(), 'true');
  await dockerOk(d.socket, ['rm', 'tty-logs']);
});

test('docker run -d, ps, logs, stop, rm', async (t) => {
  const id = (await dockerOk(d.socket, ['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', 'echo started; echo warn >&2; sleep 600'])).trim();
  t.regex(id, /^[0-9a-f]{64}$/);
  t.regex(await dockerOk(d.socket, ['ps', '--format', '{{.Names}} {{.Status}}']), /sleeper Up/);
  let logs = await docker(d.socket, ['logs', 'sleeper']);
  for (let i = 0; i < 100 && !logs.stdout.includes('started'); i++) logs = await docker(d.socket, ['logs', 'sleeper']);
  t.is(logs.stdout, 'started\n');
  t.is(logs.stderr, 'warn\n');
  const busy = await docker(d.socket, ['rm', 'sleeper']);
  t.not(busy.code, 0);
  t.regex(busy.stderr, /cannot remove a running container/);
  await dockerOk(d.socket, ['stop', '-t', '1', 'sleeper']);
  t.regex(await dockerOk(d.socket, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /sleeper Exited \(137\)/);
  t.false((await dockerOk(d.socket, ['ps', '--format', '{{.Names}}'])).includes('sleeper'));
  await dockerOk(d.socket, ['rm', 'sleeper']);
  t.false((await dockerOk(d.socket, ['ps', '-a', '--format', '{{.Names}}'])).includes('sleeper'));
  t.not((await docker(d.socket, ['kill', id])).code, 0);

  // logs -f: what was written before, then live output until the container exits.
  await dockerOk(d.socket, ['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo one; sleep 3; echo two']);
  t.is(await dockerOk(d.socket, ['logs', '-f', 'talker']), 'one\ntwo\n');
  await dockerOk(d.socket, ['rm', 'talker']);
});

test('docker stop sends SIGTERM first, and SIGKILLs a pid 1 that ignores it once the grace period is over', async (t) => {
  await dockerOk(d.socket, ['run', '-d', '--name', 'polite', 'busybox', 'sh', '-c', 'trap "exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
  await dockerOk(d.socket, ['run', '-d', '--name', 'deaf', 'busybox', 'sh', '-c', 'trap "" TERM; echo ready; sleep 1000']);
  for (const name of ['polite', 'deaf']) {
    for (let i = 0; i < 100 && !(await dockerOk(d.socket, ['logs', name])).includes('ready'); i++) await sleep(50);
  }
  await dockerOk(d.socket, ['stop', '-t', '30', 'polite']);
  await dockerOk(d.socket, ['stop', '-t', '1', 'deaf']);
  const states = await dockerOk(d.socket, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  t.regex(states, /polite Exited \(7\)/);
  t.regex(states, /deaf Exited \(137\)/);
  t.false((await dockerOk(d.socket, ['ps', '--format', '{{.Names}}'])).includes('deaf'));
  await dockerOk(d.socket, ['rm', 'polite', 'deaf']);
});

test('DOCKER_BUILDKIT=0 docker build -t, then run the image', async (t) => {
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-daemon-ctx-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nARG GREETING=none\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt && echo "$GREETING" >> /b.txt\nCMD ["cat", "/b.txt"]\n');
    await writeFile(join(ctx, 'a.txt'), 'hello from the context\n');
    const b = await docker(d.socket, ['build', '-t', 'built:1', '--build-arg', 'GREETING=hey', '--label', 'team=kiln', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } });
    t.is(b.code, 0, b.stdout + b.stderr);
    t.regex(b.stdout, /Successfully built [0-9a-f]{12}/);
    t.regex(b.stdout, /Successfully tagged built:1/);
    t.is(await dockerOk(d.socket, ['run', '--rm', 'built:1']), 'hello from the context\nhey\n');
    t.is((await dockerOk(d.socket, ['image', 'inspect', '--format', '{{.Config.Labels.team}}', 'built:1'])).trim(), 'kiln');
    const q = await dockerOk(d.socket, ['build', '-q', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } });
    t.regex(q.trim(), /^sha256:[0-9a-f]{64}$/);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN exit 7\n');
    const failed = await docker(d.socket, ['build', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } });
    t.not(failed.code, 0);
    t.regex(failed.stdout + failed.stderr, /exit code 7|exited 7|code: 7/);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
});

test('four clients build at once: all succeed and the step they share runs once (daemon log)', async (t) => {
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-daemon-conc-'));
  try {
    const marker = Math.random().toString(36).slice(2);
    await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo ${marker} > /shared && sleep 5\nARG N\nRUN echo "$N" > /n\nCMD ["cat", "/shared", "/n"]\n`);
    const builds = await Promise.all(
      [1, 2, 3, 4].map((n) => docker(d.socket, ['build', '-t', `conc-${marker}:${n}`, '--build-arg', `N=${n}`, '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } })),
    );
    for (const b of builds) t.is(b.code, 0, b.stdout + b.stderr);
    for (const n of [1, 2, 3, 4]) t.is(await dockerOk(d.socket, ['run', '--rm', `conc-${marker}:${n}`]), `${marker}\n${n}\n`);
    const started = new Map<string, string>();
    let ran = 0;
    for (const line of d.log().split('\n')) {
      const s = /msg="build started" build=(\w+) tags=(\S+)/.exec(line);
      if (s) started.set(s[1]!, s[2]!);
      const done = /msg="build done" build=(\w+) .*ran=(\d+)/.exec(line);
      if (done && started.get(done[1]!)?.startsWith(`conc-${marker}`)) ran += Number(done[2]);
    }
    // One shared RUN plus one RUN of its own per client.
    t.is(ran, 1 + 4);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
});

test('docker save | docker load round trip', async (t) => {
  await dockerOk(d.socket, ['tag', 'busybox', 'roundtrip:1']);
  const id = (await dockerOk(d.socket, ['image', 'inspect', '--format', '{{.Id}}', 'roundtrip:1'])).trim();
  await dockerOk(d.socket, ['rmi', 'roundtrip:1']);
  await dockerOk(d.socket, ['tag', 'busybox', 'roundtrip:1']);
  const r = await shell(d.socket, 'docker save roundtrip:1 > "$DOCKER_CONFIG.tar" && docker rmi roundtrip:1 && docker load < "$DOCKER_CONFIG.tar" && rm "$DOCKER_CONFIG.tar"');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Loaded image: roundtrip:1/);
  t.is((await dockerOk(d.socket, ['image', 'inspect', '--format', '{{.Id}}', 'roundtrip:1'])).trim(), id);
  const piped = await shell(d.socket, 'docker save roundtrip:1 | docker load');
  t.is(piped.code, 0, piped.stderr);
  t.regex(piped.stdout, /Loaded image: roundtrip:1/);
});

test('docker login, push to a docker-registry with X-Registry-Auth, rmi, pull back', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'kiln-daemon-reg-'));
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, (await run('htpasswd', ['-Bbn', 'kiln', 's3cret'])).stdout);
  const reg = await startRegistry({ htpasswd });
  try {
    const name = `${reg.host}/team/bb:1`;
    await dockerOk(d.socket, ['tag', 'busybox', name]);
    const anonymous = await docker(d.socket, ['push', name]);
    t.not(anonymous.code, 0);
    t.regex(anonymous.stderr + anonymous.stdout, /unauthorized/);
    const wrong = await docker(d.socket, ['login', reg.host, '-u', 'kiln', '--password-stdin'], { input: 'nope\n' });
    t.not(wrong.code, 0);
    await dockerOk(d.socket, ['login', reg.host, '-u', 'kiln', '--password-stdin'], { input: 's3cret\n' });
    const pushed = await dockerOk(d.socket, ['push', name]);
    t.regex(pushed, /The push refers to repository \[127\.0\.0\.1:\d+\/team\/bb\]/);
    t.regex(pushed, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
    await dockerOk(d.socket, ['rmi', name]);
    const pulled = await dockerOk(d.socket, ['pull', name]);
    t.regex(pulled, /Digest: sha256:[0-9a-f]{64}/);
    t.is(await dockerOk(d.socket, ['run', '--rm', name, 'echo', 'pulled']), 'pulled\n');

    // A private base image: docker sends its credentials with a build (X-Registry-Config); the daemon uses no others.
    await dockerOk(d.socket, ['rmi', name]);
    const ctx = join(tmp, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${name}\nRUN echo from-private > /proof\n`);
    const stranger = await docker(d.socket, ['build', '-q', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(tmp, 'no-credentials') } });
    t.not(stranger.code, 0);
    t.regex(stranger.stdout + stranger.stderr, /unauthorized|authentication/i);
    const built = await docker(d.socket, ['build', '-q', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } });
    t.is(built.code, 0, built.stdout + built.stderr);
  } finally {
    await reg.stop();
    await rm(tmp, { recursive: true, force: true });
  }
});

/** A client certificate signed by the test CA (`ca.pem`/`ca.key` in `dir`). */
async function clientCert(dir: string): Promise<{ cert: string; key: string }> {
  const p = (f: string) => join(dir, f);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kiln client', '-keyout', p('client.key'), '-out', p('client.csr')]);
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('client.ext'), '-out', p('client.pem')]);
  return { cert: p('client.pem'), key: p('client.key') };
}

test('socket 0660 root:GROUP refuses others; TLS TCP needs a client certificate; JSON logs', async (t) => {
  const certDir = await mkdtemp(join(tmpdir(), 'kiln-daemon-tls-'));
  const certs = await makeCertificates(certDir);
  const client = await clientCert(certDir);
  const port = await freePort();
  const d = await startDaemon({
    args: ['--group', 'daemon', '--log-format', 'json', '--tlscacert', certs.caCert, '--tlscert', certs.cert, '--tlskey', certs.key],
    extraHosts: [`tcp://127.0.0.1:${port}`],
  });
  try {
    const st = await stat(d.socket);
    t.true(st.isSocket());
    t.is(st.mode & 0o777, 0o660);
    t.is(st.uid, 0);
    t.is(st.gid, 1);
    // The directory must not be what stops nobody: only the socket's own mode may.
    await chmod(d.dir, 0o755);
    const denied = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'docker', '-H', `unix://${d.socket}`, 'version'], { env: { PATH: process.env.PATH, HOME: '/tmp' } }).catch((e: { stderr: string }) => e);
    t.regex((denied as { stderr: string }).stderr, /permission denied/);
    const member = await run('setpriv', ['--reuid=65534', '--regid=65534', '--groups=1', 'docker', '-H', `unix://${d.socket}`, 'version', '--format', '{{.Server.Platform.Name}}'], { env: { PATH: process.env.PATH, HOME: '/tmp' } });
    t.is(member.stdout.trim(), 'kiln');

    const tls = ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', certs.caCert];
    t.is((await dockerOk(d.socket, [...tls, '--tlscert', client.cert, '--tlskey', client.key, 'version', '--format', '{{.Server.Platform.Name}}'])).trim(), 'kiln');
    const noCert = await docker(d.socket, [...tls, 'version']);
    t.not(noCert.code, 0);
    t.regex(noCert.stderr, /certificate|tls|handshake/i);

    const lines = d.log().trim().split('\n');
    t.true(lines.length > 3);
    for (const line of lines) t.notThrows(() => JSON.parse(line), line);
    t.true(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'listening'));
  } finally {
    await d.cleanup();
    await rm(certDir, { recursive: true, force: true });
  }
});

test('plain TCP is refused without --insecure-tcp, and a missing --group is an error', async (t) => {
  const port = await freePort();
  const plain = await startDaemon({ extraHosts: [`tcp://127.0.0.1:${port}`], waitReady: false });
  const group = await startDaemon({ args: ['--group', 'no-such-group-kiln'], waitReady: false });
  try {
    t.is(await plain.exited, 1);
    t.regex(plain.log(), /refusing to serve tcp:\/\/127\.0\.0\.1:\d+ without TLS client verification/);
    t.regex(plain.log(), /--insecure-tcp/);
    t.notRegex(plain.log(), /\n\s+at /);
    t.is(await group.exited, 1);
    t.regex(group.log(), /group "no-such-group-kiln" does not exist/);
  } finally {
    await Promise.all([plain.cleanup(), group.cleanup()]);
  }
});

test('SIGTERM during a build cancels it, removes the socket and mounts and leaves a usable store', async (t) => {
  const port = await freePort();
  const d = await startDaemon({ extraHosts: [`tcp://127.0.0.1:${port}`], args: ['--insecure-tcp'] });
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-daemon-term-'));
  try {
    t.regex(d.log(), /level=warn msg="serving plain TCP without TLS/);
    t.is((await dockerOk(d.socket, ['-H', `tcp://127.0.0.1:${port}`, 'version', '--format', '{{.Server.Platform.Name}}'])).trim(), 'kiln');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo step-running && sleep 600\n');
    const building = docker(d.socket, ['build', '-t', 'never:1', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' } });
    const runc = async () => (await run('runc', ['--root', join(d.root, 'runc'), 'list', '-q']).catch(() => ({ stdout: '' }))).stdout.trim();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !d.log().includes('build started')) await sleep(200);
    while (Date.now() < deadline && (await runc()) === '') await sleep(200);
    t.not(await runc(), '', `the RUN step never started:\n${d.log()}`);
    const start = Date.now();
    t.is(await d.stop(), 0);
    t.true(Date.now() - start < 60_000);
    const client = await building;
    t.not(client.code, 0);
    await t.throwsAsync(stat(d.socket));
    t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(d.root));
    t.deepEqual((await readdir(join(d.root, 'tmp'))).filter((f) => f.includes('context')), []);
    const images = await kiln(d.root, ['images']);
    t.is(images.code, 0, images.stderr);
    t.regex(images.stdout, /busybox/);
    t.notRegex(images.stdout, /never/);
  } finally {
    await d.cleanup();
    await rm(ctx, { recursive: true, force: true });
  }
});
