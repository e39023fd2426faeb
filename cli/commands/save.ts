import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { KilnError } from '../../common/errors.js';
import { writeOutputFile, writeStdout } from '../../common/output-file.js';
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
      const format = opts.format as ArchiveFormat;
      const { root, host, tls } = globalOptions(cmd);
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        const archive = await client.saveImages(new client.DaemonClient({ host, tls }), images, format);
        return writeArchive(opts.output, (out) => pipeline(archive, out));
      }
      const { openStore } = await import('../../cache/index.js');
      const { saveImages } = await import('../../oci/index.js');
      const store = await openStore(root);
      try {
        const resolved: ResolvedImage[] = [];
        for (const ref of images) resolved.push(await store.resolveImage(ref));
        await writeArchive(opts.output, (out) => saveImages(store, resolved, format, out));
      } finally {
        store.close();
      }
    });
}

/** To stdout, or to FILE whole or not at all (see writeOutputFile). */
function writeArchive(file: string | undefined, write: (out: Writable) => Promise<void>): Promise<void> {
  return file ? writeOutputFile(file, '-o', write) : writeStdout(write);
}
