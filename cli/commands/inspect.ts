import type { Command } from 'commander';
import type { ResolvedImage, Store } from '../../cache/index.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show details of images as JSON, like `docker image inspect`')
    .argument('<image...>', 'image names or ids')
    .action(async (images: string[], _opts: unknown, cmd: Command) => {
      const { openStore } = await import('../../cache/index.js');
      const store = await openStore(globalOptions(cmd).root);
      try {
        const out = [];
        for (const ref of images) out.push(await describe(store, await store.resolveImage(ref)));
        process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      } finally {
        store.close();
      }
    });
}

async function describe(store: Store, img: ResolvedImage): Promise<Record<string, unknown>> {
  const { familiarReference, parseReference } = await import('../../oci/index.js');
  const names = store.imageNames(img.indexDigest ?? img.manifestDigest);
  const c = img.config;
  return {
    Id: img.configDigest,
    RepoTags: names.map((n) => familiarReference(parseReference(n))),
    RepoDigests: store.repoDigests(img.indexDigest ?? img.manifestDigest).map((d) => familiarReference(parseReference(d))),
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: await store.imageSize(img),
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Descriptor: { mediaType: img.manifest.mediaType, digest: img.manifestDigest, size: await store.blobSize(img.manifestDigest) },
  };
}
