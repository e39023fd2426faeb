/** The sandbox as the kiln command line exposes it: entitlements, --cap-add, and the privilege preflight. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cliMain, freshRoot, kiln } from './build-helpers.js';
import { checkoutView, tsxArgs } from './read-checkout.js';

const run = promisify(execFile);

let state: Awaited<ReturnType<typeof freshRoot>>;
let ctx: string;
test.before(async () => {
  state = await freshRoot();
  ctx = await mkdtemp(join(tmpdir(), 'kiln-sandbox-cli-'));
  // Succeeds only unconfined: a sandboxed RUN may not mount.
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN --security=insecure mkdir -p /mnt && mount -t tmpfs none /mnt && umount /mnt && echo unconfined > /proof\n');
});
test.after.always(async () => {
  await state?.cleanup();
  if (ctx) await rm(ctx, { recursive: true, force: true });
});

test('RUN --security=insecure is refused without --allow security.insecure, and runs unconfined with it', async (t) => {
  const refused = await kiln(state.root, ['build', '--progress', 'plain', ctx]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /Dockerfile:2:\d+: RUN --security=insecure needs the security\.insecure entitlement/);
  t.regex(refused.stderr, /--allow security\.insecure/);
  t.notRegex(refused.stderr, /\n\s+at /);

  const allowed = await kiln(state.root, ['build', '--progress', 'plain', '--allow', 'security.insecure', '-t', 'insecure:1', ctx]);
  t.is(allowed.code, 0, allowed.stderr);
  const out = await kiln(state.root, ['run', 'insecure:1', 'cat', '/proof']);
  t.is(out.stdout, 'unconfined\n');

  const unknown = await kiln(state.root, ['build', '--allow', 'device', ctx]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /unknown entitlement "device"/);
});

test('kiln run: no raw socket by default, one with --cap-add NET_RAW', async (t) => {
  // busybox arping opens an AF_PACKET socket (CAP_NET_RAW) before anything else.
  const denied = await kiln(state.root, ['run', 'busybox', 'arping', '-c', '1', '-w', '1', '-I', 'lo', '127.0.0.1']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /arping: socket: Operation not permitted/);
  // With the socket, arping gets as far as the interface, which loopback cannot serve.
  const granted = await kiln(state.root, ['run', '--cap-add', 'NET_RAW', 'busybox', 'arping', '-c', '1', '-w', '1', '-I', 'lo', '127.0.0.1']);
  t.regex(granted.stderr, /arping: interface lo is not ARPable/);
});

test('as an unprivileged user without a subuid range, build and run fail at once with what to configure, no stack trace', async (t) => {
  for (const args of [
    ['run', 'busybox', 'true'],
    ['build', ctx],
  ]) {
    const [cmd, ...argv] = checkoutView.wrap(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', 'HOME=/nonexistent', process.execPath, ...tsxArgs(cliMain), '--root', state.root, ...args]);
    const r = await run(cmd!, argv, { cwd: tmpdir() }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    t.is(r.code, 1, args[0]);
    t.regex(r.stderr, /^kiln: kiln runs as nobody \(uid 65534\), not root, so it runs containers in a user namespace, which needs a range of subordinate ids for nobody in \/etc\/subuid and \/etc\/subgid\n/);
    t.regex(r.stderr, /\nhint: as root, give nobody 65536 ids: `usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ nobody`/);
    t.notRegex(r.stderr, /\n\s+at /);
  }
});
