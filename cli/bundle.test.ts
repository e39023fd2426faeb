import test from 'ava';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshRoot, repo } from '../test/build-helpers.js';
import { bundleCli } from './bundle.js';

const run = promisify(execFile);

test('the bundled CLI builds with COPY, ADD of a URL and RUN (runc, layers, native addons, undici) and runs the image', async (t) => {
  // Two levels below the repository (.kiln-test/ is git-ignored), as dist/bundle/ is, so the bundle finds node_modules and package.json.
  const out = join(repo, '.kiln-test', `bundle-${process.pid}`);
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-bundle-ctx-'));
  const { root, cleanup } = await freshRoot();
  const server = createServer((_req, res) => res.end('from a url\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/u.txt`;
  try {
    await bundleCli(repo, out);
    await bundleCli(repo, out);
    const beside = (await readdir(join(repo, '.kiln-test'))).filter((n) => n.startsWith(`bundle-${process.pid}`));
    t.deepEqual(beside, [`bundle-${process.pid}`], 'a rebuild leaves no old or half-written bundle beside it');
    await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nCOPY a.txt /\nADD ${url} /u.txt\nRUN tr a-z A-Z < /a.txt > /b.txt\n`);
    await writeFile(join(ctx, 'a.txt'), 'bundled\n');
    const main = join(out, 'main.js');
    const version = await run(process.execPath, [main, '--version']);
    t.regex(version.stdout, /^\d+\.\d+\.\d+/);
    await run(process.execPath, [main, '--root', root, 'build', '-q', '-t', 'bundled:1', ctx], { env: { ...process.env, CI: 'true' } });
    const out2 = await run(process.execPath, [main, '--root', root, 'run', '--rm', 'bundled:1', 'cat', '/b.txt', '/u.txt']);
    t.is(out2.stdout, 'BUNDLED\nfrom a url\n');
  } finally {
    server.close();
    await rm(out, { recursive: true, force: true });
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});
