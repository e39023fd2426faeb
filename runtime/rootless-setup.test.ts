import test from 'ava';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../common/errors.js';
import { rootlessSetup } from './rootless-setup.js';

const alice = { username: 'alice', uid: 1000, gid: 1000 };

async function scene(subuid: string, subgid: string, helpers: string[]): Promise<{ dir: string; files: { subuid: string; subgid: string }; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-rootless-setup-'));
  const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  await writeFile(files.subuid, subuid);
  await writeFile(files.subgid, subgid);
  for (const h of helpers) {
    await writeFile(join(dir, h), '#!/bin/sh\n');
    await chmod(join(dir, h), 0o755);
  }
  return { dir, files, env: { PATH: dir } };
}

test('with both ranges and both helpers, the setup names them', async (t) => {
  const s = await scene('alice:100000:65536\n', '1000:200000:65536\n', ['newuidmap', 'newgidmap']);
  try {
    t.deepEqual(rootlessSetup(s.env, alice, s.files), {
      user: 'alice',
      uid: 1000,
      gid: 1000,
      uids: [{ start: 100000, count: 65536 }],
      gids: [{ start: 200000, count: 65536 }],
      newuidmap: join(s.dir, 'newuidmap'),
      newgidmap: join(s.dir, 'newgidmap'),
    });
  } finally {
    await rm(s.dir, { recursive: true });
  }
});

test('everything missing is named at once, with the usermod line for a free range and the package', async (t) => {
  const s = await scene('bob:100000:65536\n', '', ['newuidmap']);
  try {
    const err = t.throws(() => rootlessSetup(s.env, alice, s.files), { instanceOf: KilnError })!;
    t.is((err as KilnError).code, 'E_RUNTIME_ROOTLESS_SETUP');
    t.is(err.message, `kiln runs as alice (uid 1000), not root, so it runs containers in a user namespace, which needs a range of subordinate ids for alice in ${s.files.subuid} and ${s.files.subgid} and the newuidmap and newgidmap programs`);
    t.is(
      (err as KilnError).hint,
      `as root, give alice 65536 ids: \`usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice\` (the line \`alice:165536:65536\` in ${s.files.subuid} and ${s.files.subgid}); ` +
        'install them: `apt-get install uidmap` on Debian/Ubuntu, `dnf install shadow-utils` on Fedora; or run kiln as root',
    );
  } finally {
    await rm(s.dir, { recursive: true });
  }
});

test('only the file without a range is named', async (t) => {
  const s = await scene('alice:100000:65536\n', '', ['newuidmap', 'newgidmap']);
  try {
    const err = t.throws(() => rootlessSetup(s.env, alice, s.files), { instanceOf: KilnError })!;
    t.regex(err.message, new RegExp(`needs a range of subordinate ids for alice in ${s.files.subgid}$`));
    t.regex((err as KilnError).hint!, /`usermod --add-subgids 165536-231071 alice`/);
  } finally {
    await rm(s.dir, { recursive: true });
  }
});
