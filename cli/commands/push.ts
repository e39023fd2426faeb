import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { addRegistryFlags, assertNoRegistryFlags, registryOptions } from './registry-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('push')
    .description('Upload a local image to a registry')
    .argument('<image>', 'local image name or id')
    .argument('[target]', 'where to push it (default: the image name), e.g. host:5000/app:1')
    .option('-q, --quiet', 'print only the manifest digest');
  addRegistryFlags(cmd).action(async (image: string, target: string | undefined, o: { quiet?: boolean }) => {
    const { root, host, tls } = globalOptions(cmd);
    let r: { reference: string; manifestDigest: string; manifestSize: number; blobs: { uploaded: number; mounted: number; exists: number } };
    if (host !== undefined) {
      assertNoRegistryFlags(cmd);
      const client = await import('../../client/index.js');
      r = await client.pushImage(new client.DaemonClient({ host, tls }), image, target);
    } else {
      const options = await registryOptions(cmd, root);
      const { openStore } = await import('../../cache/index.js');
      const { pushImage } = await import('../../oci/index.js');
      const store = await openStore(root);
      try {
        r = await pushImage(store, image, target, options);
      } finally {
        store.close();
      }
    }
    if (o.quiet) {
      process.stdout.write(`${r.manifestDigest}\n`);
    } else {
      const { uploaded, exists, mounted } = r.blobs;
      process.stdout.write(`Pushed ${r.reference}: ${uploaded} blob(s) uploaded, ${mounted} mounted, ${exists} already present\n`);
      process.stdout.write(`${r.reference.replace(/^.*:/, '')}: digest: ${r.manifestDigest} size: ${r.manifestSize}\n`);
    }
  });
}
