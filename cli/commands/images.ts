import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { createdAgo, humanSize, table } from './human.js';

export function register(program: Command): void {
  program
    .command('images')
    .description('List images in the local store')
    .option('-q, --quiet', 'only show image ids')
    .option('--no-trunc', 'do not shorten image ids')
    .action(async (opts: { quiet?: boolean; trunc: boolean }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      const { familiarReference, parseReference, shortId } = await import('../../oci/index.js');
      const { openStore } = await import('../../cache/index.js');
      const client = host === undefined ? undefined : await import('../../client/index.js');
      const store = client ? undefined : await openStore(root);
      try {
        const images = client ? await client.listImages(new client.DaemonClient({ host: host!, tls })) : await store!.listImages();
        const id = (d: string) => (opts.trunc ? shortId(d) : d);
        if (opts.quiet) {
          process.stdout.write([...new Set(images.map((i) => id(i.configDigest)))].map((s) => `${s}\n`).join(''));
          return;
        }
        const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
        for (const img of images) {
          let repo = '<none>';
          let tag = '<none>';
          if (img.name !== undefined) {
            const ref = parseReference(img.name);
            repo = familiarReference({ ...ref, tag: undefined, digest: undefined });
            tag = ref.tag ?? '<none>';
          }
          rows.push([repo, tag, id(img.configDigest), createdAgo(img.created), humanSize(img.size)]);
        }
        process.stdout.write(table(rows));
      } finally {
        store?.close();
      }
    });
}
