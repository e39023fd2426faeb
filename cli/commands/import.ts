import type { Command } from 'commander';
import { KilnError } from '../../common/errors.js';
import { openInputFile } from '../../common/input-file.js';
import { collect, globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('import')
    .description('Make an image from a root filesystem tarball, like `docker import`')
    .argument('<file>', 'the rootfs tar (uncompressed), or - for stdin')
    .argument('[name]', 'REPOSITORY[:TAG] to tag the image with')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the image config (repeatable)', collect, [])
    .option('--compression <type>', 'layer compression: gzip, zstd or uncompressed', 'gzip')
    .action(async (file: string, name: string | undefined, opts: { change: string[]; compression: string }, cmd: Command) => {
      const { importRootfs, layerCompressionNamed, normalizeReference } = await import('../../oci/index.js');
      const compression = layerCompressionNamed(opts.compression);
      if (!compression) throw new KilnError('E_USAGE', `unknown --compression "${opts.compression}"`, { hint: 'use gzip, zstd or uncompressed' });
      // A bad name fails before the tarball is read, not after its layer is stored.
      if (name) normalizeReference(name);
      const input = file === '-' ? process.stdin : await openInputFile(file);
      const { root, host, tls } = globalOptions(cmd);
      if (host !== undefined) {
        const { basename } = await import('node:path');
        const client = await import('../../client/index.js');
        const id = await client.importImage(new client.DaemonClient({ host, tls }), input, {
          ...(name !== undefined ? { name } : {}),
          changes: opts.change,
          compression: opts.compression,
          source: file === '-' ? '-' : basename(file),
        });
        process.stdout.write(`${id}\n`);
        return;
      }
      const { openStore } = await import('../../cache/index.js');
      const store = await openStore(root);
      try {
        const img = await importRootfs(store, input, { compression, changes: opts.change, source: file });
        if (name) await store.tagImage(name, img.manifestDigest);
        else await store.registerImage(img.manifestDigest);
        process.stdout.write(`${img.configDigest}\n`);
      } finally {
        store.close();
      }
    });
}
