import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('pull')
    .description('Download an image from a registry into the local store')
    .argument('<image>', 'image reference, e.g. busybox, host:5000/app:1, name@sha256:...')
    .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image', 'linux/amd64')
    .option('-q, --quiet', 'print only the image digest');
  addRegistryFlags(cmd).action(async (image: string, o: { platform: string; quiet?: boolean }) => {
    const { root } = globalOptions(cmd);
    const options = await registryOptions(cmd, root);
    const { openStore } = await import('../../cache/index.js');
    const { pullImage } = await import('../../oci/index.js');
    const store = await openStore(root);
    try {
      const r = await pullImage(store, image, { ...options, platform: o.platform });
      if (o.quiet) {
        process.stdout.write(`${r.manifestDigest}\n`);
      } else {
        process.stdout.write(`Digest: ${r.manifestDigest}\n`);
        process.stdout.write(`Status: ${r.downloaded > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${r.name}\n`);
        process.stdout.write(`${r.name}\n`);
      }
    } finally {
      store.close();
    }
  });
}
