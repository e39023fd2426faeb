import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { addRegistryFlags, assertNoRegistryFlags, registryOptions } from './registry-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('pull')
    .description('Download an image from a registry into the local store')
    .argument('<image>', 'image reference, e.g. busybox, host:5000/app:1, name@sha256:...')
    .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image', 'linux/amd64')
    .option('-q, --quiet', 'print only the image digest');
  addRegistryFlags(cmd).action(async (image: string, o: { platform: string; quiet?: boolean }) => {
    const { root, host, tls } = globalOptions(cmd);
    let r: { name: string; manifestDigest: string; downloaded: number };
    if (host !== undefined) {
      assertNoRegistryFlags(cmd);
      const client = await import('../../client/index.js');
      r = await client.pullImage(new client.DaemonClient({ host, tls }), image, o.platform);
    } else {
      const options = await registryOptions(cmd, root);
      const { openStore } = await import('../../cache/index.js');
      const { pullImage } = await import('../../oci/index.js');
      const store = await openStore(root);
      try {
        r = await pullImage(store, image, { ...options, platform: o.platform });
      } finally {
        store.close();
      }
    }
    if (o.quiet) {
      process.stdout.write(`${r.manifestDigest}\n`);
    } else {
      process.stdout.write(`Digest: ${r.manifestDigest}\n`);
      process.stdout.write(`Status: ${r.downloaded > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${r.name}\n`);
      process.stdout.write(`${r.name}\n`);
    }
  });
}
