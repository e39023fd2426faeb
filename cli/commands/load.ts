import type { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../../common/errors.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('load')
    .description('Load images from an OCI image layout or docker-archive tarball')
    .option('-i, --input <file>', 'read from a file instead of stdin')
    .option('-q, --quiet', 'suppress the load output')
    .action(async (opts: { input?: string; quiet?: boolean }, cmd: Command) => {
      if (!opts.input && process.stdin.isTTY) {
        throw new KilnError('E_USAGE', 'no archive given', { hint: 'give -i FILE or pipe the archive to stdin' });
      }
      const { root, host, tls } = globalOptions(cmd);
      const say = (line: string) => {
        if (!opts.quiet) process.stdout.write(`${line}\n`);
      };
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        const archive = opts.input ? createReadStream(opts.input) : process.stdin;
        for (const line of await client.loadImages(new client.DaemonClient({ host, tls }), archive)) say(line);
        return;
      }
      const { openStore } = await import('../../cache/index.js');
      const { familiarReference, loadArchive, parseReference } = await import('../../oci/index.js');
      const store = await openStore(root);
      // The loader reads the archive twice, so stdin is spooled to a file first.
      const spool = opts.input ? undefined : await mkdtemp(join(tmpdir(), 'kiln-load-'));
      try {
        const file = opts.input ?? join(spool!, 'archive.tar');
        if (spool) await pipeline(process.stdin, createWriteStream(file));
        for (const img of await loadArchive(store, file)) {
          if (img.names.length === 0) {
            await store.registerImage(img.manifestDigest);
            const r = await store.resolveImage(img.manifestDigest);
            say(`Loaded image ID: ${r.configDigest}`);
          }
          for (const name of img.names) {
            await store.tagImage(name, img.manifestDigest);
            say(`Loaded image: ${familiarReference(parseReference(name))}`);
          }
        }
      } finally {
        store.close();
        if (spool) await rm(spool, { recursive: true, force: true });
      }
    });
}
