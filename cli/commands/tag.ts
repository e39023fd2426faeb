import type { Command } from 'commander';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('tag')
    .description('Create a name TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>', 'SOURCE_IMAGE[:TAG] or image id')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action(async (source: string, target: string, _opts: unknown, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        return client.tagImage(new client.DaemonClient({ host, tls }), source, target);
      }
      const { openStore } = await import('../../cache/index.js');
      const store = await openStore(root);
      try {
        const img = await store.resolveImage(source);
        await store.tagImage(target, img.indexDigest ?? img.manifestDigest);
      } finally {
        store.close();
      }
    });
}
