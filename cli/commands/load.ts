import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { asNoSpaceError, KilnError } from '../../common/errors.js';
import { openInputFile } from '../../common/input-file.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('load')
    .description('Load images from an OCI image layout or docker-archive tarball, plain or gzip/zstd-compressed')
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
        const archive = opts.input ? await openInputFile(opts.input) : process.stdin;
        for (const line of await client.loadImages(new client.DaemonClient({ host, tls }), archive)) say(line);
        return;
      }
      const { openStore } = await import('../../cache/index.js');
      const { familiarName, loadArchive, sniffCompression, spoolArchive } = await import('../../oci/index.js');
      const store = await openStore(root);
      // The loader reads the archive twice, so stdin, or an archive compressed as `docker save |
      // gzip` makes it (gzip or zstd, as docker load takes them), is spooled to a plain tar first:
      // a temp file of the store's, which the store removes if kiln is interrupted or killed.
      const source = opts.input ? await openInputFile(opts.input) : process.stdin;
      const { compression, stream } = await sniffCompression(source);
      const spool = opts.input && compression === 'none' ? undefined : store.layout.tempPath('load');
      try {
        if (spool) await spoolArchive(stream, compression, spool).catch((e: unknown) => Promise.reject(asNoSpaceError(e, store.root) ?? e));
        else source.destroy();
        for (const img of await loadArchive(store, spool ?? opts.input!, opts.input ?? 'stdin')) {
          if (img.names.length === 0) {
            await store.registerImage(img.manifestDigest);
            const r = await store.resolveImage(img.manifestDigest);
            say(`Loaded image ID: ${r.configDigest}`);
          }
          for (const name of img.names) {
            await store.tagImage(name, img.manifestDigest);
            say(`Loaded image: ${familiarName(name)}`);
          }
        }
      } finally {
        if (spool) await rm(spool, { force: true });
        store.close();
      }
    });
}
