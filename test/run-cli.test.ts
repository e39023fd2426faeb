import test from 'ava';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../cache/index.js';
import { cliPath, makeFixture, type Fixture } from './runtime-fixture.js';
import { checkInteractive, INTERACTIVE_SCRIPT, INTERACTIVE_STEPS, onTerminal, type TerminalSteps } from './terminal-session.js';

const IMAGE = 'kiln-test/busybox-run:1';
let fx: Fixture;

test.before(async () => {
  fx = await makeFixture();
  // A one-layer image of the busybox fixture, with a config that exercises every field kiln run applies.
  const store = await openStore(fx.stateRoot);
  try {
    const layer = await store.writeBlob(createReadStream(fx.tar), { mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    const config = await store.writeJson(
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['GREETING=hello', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh', '-c', 'echo "cmd $GREETING $HOSTNAME"; pwd; id -u'], WorkingDir: '/tmp', User: 'nobody' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = await store.writeJson(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
      },
      'application/vnd.oci.image.manifest.v1+json',
    );
    await store.tagImage(IMAGE, manifest.digest);
  } finally {
    store.close();
  }
});
test.after.always(async () => fx?.dispose());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kiln(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), cliPath, '--root', fx.stateRoot, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

test("the image's Cmd, Env, WorkingDir and User apply; HOSTNAME is set", async (t) => {
  const r = await kiln(['run', '--rm', '--hostname', 'box1', IMAGE]);
  t.is(r.stderr, '');
  t.is(r.stdout, 'cmd hello box1\n/tmp\n65534\n');
  t.is(r.code, 0);
});

test('the command after IMAGE replaces Cmd and its exit code is kiln\'s; options after IMAGE belong to it', async (t) => {
  const r = await kiln(['run', IMAGE, 'sh', '-c', 'echo -e "a\\tb"; exit 3', '-i']);
  t.is(r.stdout, 'a\tb\n');
  t.is(r.code, 3);
});

test('-e, --env-file, -w, -u and --entrypoint override the image', async (t) => {
  const envFile = join(fx.dir, 'env.list');
  await writeFile(envFile, '# comment\nFROM_FILE=yes\n\nGREETING=from-file\nFROM_HOST\n');
  const r = await kiln(['run', '-e', 'A=1', '--env-file', envFile, '-e', 'GREETING=override', '-w', '/etc', '-u', '0:0', '--entrypoint', 'sh', IMAGE, '-c', 'echo $A $FROM_FILE $GREETING $FROM_HOST; pwd; id -u; id -g'], {
    env: { FROM_HOST: 'host-value' },
  });
  t.is(r.stderr, '');
  // --env-file entries come after -e ones, as in docker.
  t.is(r.stdout, '1 yes from-file host-value\n/etc\n0\n0\n');
  const noCmd = await kiln(['run', '--entrypoint', 'echo', IMAGE]);
  // docker drops the image's Cmd when --entrypoint is given.
  t.is(noCmd.stdout, '\n');
});

test('the primary group is among the supplementary groups (CVE-2023-25173), for -u uid:gid too', async (t) => {
  const root = await kiln(['run', '--rm', '-u', '0', IMAGE, 'sh', '-c', 'grep Groups /proc/self/status']);
  t.is(root.stdout.trim(), 'Groups:\t0');
  const other = await kiln(['run', '--rm', '-u', '1234:1234', IMAGE, 'sh', '-c', 'grep Groups /proc/self/status']);
  t.is(other.stdout.trim(), 'Groups:\t1234');
});

test('-i pipes stdin; without -i the container gets no stdin', async (t) => {
  const piped = await kiln(['run', '-i', IMAGE, 'sh', '-c', 'tr a-z A-Z'], { input: 'piped through\n' });
  t.is(piped.stdout, 'PIPED THROUGH\n');
  const closed = await kiln(['run', IMAGE, 'sh', '-c', 'cat; echo end'], { input: 'not read\n' });
  t.is(closed.stdout, 'end\n');
});

test('--volume binds host paths, read-only with :ro', async (t) => {
  const host = join(fx.dir, 'vol');
  await mkdir(host, { recursive: true });
  await writeFile(join(host, 'in'), 'from host\n');
  const rw = await kiln(['run', '--volume', `${host}:/data`, '-u', 'root', IMAGE, 'sh', '-c', 'cat /data/in; echo out > /data/out']);
  t.is(rw.stdout, 'from host\n');
  const ro = await kiln(['run', '--volume', `${host}:/data:ro`, '-u', 'root', IMAGE, 'sh', '-c', 'echo x > /data/in']);
  t.not(ro.code, 0);
  t.regex(ro.stderr, /Read-only file system/);
});

test('-v as docker takes it: ./path is the working directory\'s, a missing host directory is made, :z and :cached change nothing', async (t) => {
  const made = join(fx.dir, 'made', 'deep');
  const r = await kiln(['run', '-v', `${made}:/data:z`, '-u', 'root', IMAGE, 'sh', '-c', 'echo made > /data/f']);
  t.is(r.code, 0, r.stderr);
  t.is(await readFile(join(made, 'f'), 'utf8'), 'made\n');
  const rel = await kiln(['run', '-v', './made/deep:/data:ro,cached', IMAGE, 'cat', '/data/f'], { cwd: fx.dir });
  t.is(rel.stdout, 'made\n', rel.stderr);
  const file = await kiln(['run', '-v', `${join(made, 'f')}:/etc/one.conf:ro`, IMAGE, 'cat', '/etc/one.conf']);
  t.is(file.stdout, 'made\n', file.stderr);
});

test('--network none isolates the network; host is the default', async (t) => {
  const none = await kiln(['run', '--network', 'none', IMAGE, 'ls', '/sys/class/net']);
  t.is(none.stdout, 'lo\n');
  const host = await kiln(['run', IMAGE, 'ls', '/sys/class/net']);
  t.not(host.stdout, 'lo\n');
  const bad = await kiln(['run', '--network', 'bridge', IMAGE, 'true']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /unsupported network "bridge"/);
});

test('kiln ps lists a running container by --name; SIGTERM is forwarded to it', async (t) => {
  let listed: Run | undefined;
  let signalled = false;
  const r = await kiln(['run', '--name', 'kiln-test-ps', IMAGE, 'sh', '-c', 'trap "echo got TERM; exit 5" TERM; echo ready; while true; do sleep 0.1; done'], {
    onStdout: (text, child) => {
      if (!text.includes('ready') || signalled) return;
      signalled = true;
      void (async () => {
        listed = await kiln(['ps']);
        child.kill('SIGTERM');
      })();
    },
  });
  t.regex(listed!.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES\n/);
  const row = new RegExp(`(kiln-[0-9a-f]{12})\\s+${IMAGE.replace(/[/.]/g, '\\$&')}\\s+.*kiln-test-ps`).exec(listed!.stdout);
  t.truthy(row, listed!.stdout);
  t.is(r.stdout, 'ready\ngot TERM\n');
  t.is(r.code, 5);
  // The other tests here share the state root and may have containers of their own running.
  const after = await kiln(['ps', '-q']);
  t.false(after.stdout.split('\n').includes(row![1]!), after.stdout);
});

test('a container whose pid 1 ignores SIGTERM is killed once --stop-timeout has passed after kiln got SIGTERM or SIGHUP', async (t) => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    let sent = false;
    const r = await kiln(['run', '--stop-timeout', '1', IMAGE, 'sh', '-c', 'trap "" TERM HUP; echo ready; sleep 1000'], {
      onStdout: (text, child) => {
        if (!text.includes('ready') || sent) return;
        sent = true;
        child.kill(signal);
      },
    });
    t.is(r.stdout, 'ready\n');
    t.is(r.code, 137, signal);
  }
});

test('clear errors: unknown image, command not found, unknown capability', async (t) => {
  const missing = await kiln(['run', 'no-such-image-here', 'true']);
  t.is(missing.code, 1);
  t.notRegex(missing.stderr, /\n\s+at /);
  const notFound = await kiln(['run', IMAGE, 'no-such-command']);
  t.is(notFound.code, 127);
  t.regex(notFound.stderr, /executable file not found/);
  const cap = await kiln(['run', '--cap-add', 'NET_RAWW', IMAGE, 'true']);
  t.is(cap.code, 1);
  t.regex(cap.stderr, /unknown capability "NET_RAWW"/);
});

/** kiln on a fresh terminal (see onTerminal); `exit=CODE` with `thenStty` is kiln's exit code. */
function kilnOnTerminal(args: string[], steps: TerminalSteps, options: { thenStty: boolean }): Promise<Run> {
  return onTerminal([process.execPath, '--import', import.meta.resolve('tsx'), cliPath, '--root', fx.stateRoot, ...args], steps, options);
}

// Serial: these run before the concurrent tests, so no container of theirs shows up in the ps test.
test.serial('-it: the container gets a terminal of the outer size, follows resizes, reads what is typed; the terminal is restored', async (t) => {
  const r = await kilnOnTerminal(['run', '-it', IMAGE, 'sh', '-c', INTERACTIVE_SCRIPT], INTERACTIVE_STEPS, { thenStty: true });
  // runc put the terminal in raw mode for the container and gave it back in cooked mode.
  checkInteractive(t, r.stdout);
});

test.serial('-t alone: a terminal and TERM; SIGTERM still reaches the container', async (t) => {
  const r = await kilnOnTerminal(['run', '-t', IMAGE, 'sh', '-c', 'tty; echo "TERM=$TERM"'], [], { thenStty: true });
  t.regex(r.stdout, /^\/dev\/pts\/0\r\nTERM=xterm\r\nexit=0\r\n/);
  const term = await kilnOnTerminal(
    ['run', '-t', IMAGE, 'sh', '-c', 'trap "echo got TERM; exit 5" TERM; echo ready; while true; do sleep 0.1; done'],
    [['ready', ['signal:TERM']]],
    { thenStty: false },
  );
  t.regex(term.stdout, /ready\r\ngot TERM\r\n/);
  t.is(term.code, 5);
});

test('-it without a terminal on stdin fails as docker does; -t alone runs without a terminal, as CI scripts expect', async (t) => {
  const r = await kiln(['run', '-it', IMAGE, 'sh']);
  t.is(r.code, 1);
  t.regex(r.stderr, /the input device is not a TTY/);
  t.notRegex(r.stderr, /\n\s+at /);
  const alone = await kiln(['run', '--rm', '-t', IMAGE, 'echo', 'ran']);
  t.is(alone.code, 0, alone.stderr);
  t.is(alone.stdout, 'ran\n');
  t.regex(alone.stderr, /^WARNING: -t: kiln's input is not a terminal, so the container runs without one$/m);
});
