import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStore } from '../cache/index.js';
import { sha256File } from './image-fixture.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'store-crash-child.ts');
const KILLS = 20;

/** Starts a writer, lets it run a random while after it has opened the store, and SIGKILLs it. */
function killAtRandom(root: string, maxDelayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), child, root, '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let timer: NodeJS.Timeout | undefined;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (timer === undefined && d.includes('ready')) timer = setTimeout(() => p.kill('SIGKILL'), Math.random() * maxDelayMs);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited on its own: code ${code}`))));
  });
}

test('a writer SIGKILLed at random moments never leaves the store inconsistent', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-crash-'));
  try {
    // Two writers at a time: halves the wall time spent starting them, and crashes concurrent writes too.
    const lane = async () => {
      for (let i = 0; i < KILLS / 2; i++) await killAtRandom(root, 1500);
    };
    await Promise.all([lane(), lane()]);
    const store = await openStore(root);
    try {
      t.deepEqual(await readdir(join(root, 'tmp')), [], 'recovery removed the dead writers temp files');
      const files = await readdir(join(root, 'blobs', 'sha256'));
      for (const hex of files) t.is(await sha256File(join(root, 'blobs', 'sha256', hex)), hex, `blob ${hex} matches its name`);
      const db = new Database(join(root, 'index.db'), { readonly: true });
      try {
        const rows = db.prepare('SELECT digest AS d FROM blobs UNION SELECT manifest_digest FROM images UNION SELECT manifest_digest FROM tags').all() as { d: string }[];
        for (const { d } of rows) t.true(existsSync(store.blobPath(d)), `index row ${d} has its blob`);
        const tags = db.prepare('SELECT name FROM tags').all() as { name: string }[];
        for (const { name } of tags) t.is((await store.resolveImage(name)).layers.length, 1, name);
        t.log(`${files.length} blobs, ${tags.length} complete images after ${KILLS} kills`);
      } finally {
        db.close();
      }
      // Still usable: a new write succeeds and GC leaves only what images need.
      await store.writeBlobBuffer('after the crashes');
    } finally {
      store.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
