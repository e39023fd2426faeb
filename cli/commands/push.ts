import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { addRegistryFlags, assertNoRegistryFlags, registryOptions } from './registry-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('push')
    .description('Upload a local image to a registry')
    .argument('<image>', 'local image name or id')
    .argument('[target]', 'where to push it (default: the image name), e.g. host:5000/app:1')
    .option('-q, --quiet', 'print only the manifest digest')
    .option('--compression-format <format>', 'compress the layers stored uncompressed (those kiln builds) with gzip, zstd, or not at all: uncompressed', 'gzip')
    .option('--compression-level <n>', 'gzip level (0-9, default 1) or zstd level (0-22, default 3)')
    .option('--force-compression', 'also recompress layers compressed another way (the default when --compression-format is given, as in podman)')
    .option('--no-force-compression', 'leave layers compressed another way as they are');
  addRegistryFlags(cmd).action(async (image: string, target: string | undefined, o: { quiet?: boolean; compressionFormat: string; compressionLevel?: string; forceCompression?: boolean }) => {
    const { root, host, tls } = globalOptions(cmd);
    // The flags are podman's; they map onto the option strings `--output` and the daemon take.
    const force = o.forceCompression ?? cmd.getOptionValueSource('compressionFormat') === 'cli';
    const fields = { compression: o.compressionFormat, ...(o.compressionLevel !== undefined ? { 'compression-level': o.compressionLevel } : {}), ...(force ? { 'force-compression': 'true' } : {}) };
    const { layerExportFields, parseLayerExport } = await import('../../oci/index.js');
    const layers = parseLayerExport(new Map(Object.entries(fields)), 'kiln push')!;
    let r: { reference: string; manifestDigest: string; manifestSize: number; blobs: { uploaded: number; mounted: number; exists: number } };
    if (host !== undefined) {
      assertNoRegistryFlags(cmd);
      const client = await import('../../client/index.js');
      r = await client.pushImage(new client.DaemonClient({ host, tls }), image, target, layerExportFields(layers));
    } else {
      const options = await registryOptions(cmd, root);
      const { openStore } = await import('../../cache/index.js');
      const { pushImage } = await import('../../oci/index.js');
      const store = await openStore(root);
      try {
        r = await pushImage(store, image, target, { ...options, layers });
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
