import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { KilnError } from '../../common/errors.js';
import type { ResolvedImage } from '../../cache/index.js';
import type { ArchiveFormat } from '../../oci/index.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('save')
    .description('Save images to a tar archive: OCI image layout or docker-archive (`docker load` reads it)')
    .argument('<image...>', 'image names or ids')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--format <format>', 'oci or docker', 'docker')
    .action(async (images: string[], opts: { output?: string; format: string }, cmd: Command) => {
      if (opts.format !== 'oci' && opts.format !== 'docker') {
        throw new KilnError('E_USAGE', `unknown --format "${opts.format}"`, { hint: 'use --format oci or --format docker' });
      }
      if (!opts.output && process.stdout.isTTY) {
        throw new KilnError('E_USAGE', 'refusing to write an archive to a terminal', { hint: 'give -o FILE or redirect stdout' });
      }
      const { openStore } = await import('../../cache/index.js');
      const { saveImages } = await import('../../oci/index.js');
      const store = await openStore(globalOptions(cmd).root);
      try {
        const resolved: ResolvedImage[] = [];
        for (const ref of images) resolved.push(await store.resolveImage(ref));
        if (!opts.output) return await saveImages(store, resolved, opts.format as ArchiveFormat, process.stdout);
        // Written beside the target and renamed, so FILE is never a partial archive.
        const tmp = `${opts.output}.kiln-${process.pid}.tmp`;
        try {
          await saveImages(store, resolved, opts.format as ArchiveFormat, createWriteStream(tmp, { flush: true }));
          await rename(tmp, opts.output);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
      } finally {
        store.close();
      }
    });
}
