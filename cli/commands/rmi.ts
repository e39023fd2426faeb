import type { Command } from 'commander';
import type { Store } from '../../cache/index.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('rmi')
    .description('Remove images: untag names, delete images left without a name and blobs nothing else needs')
    .argument('<image...>', 'image names or ids')
    .option('-f, --force', 'remove an image by id even when several names refer to it; names of no image are no error')
    .action(async (images: string[], opts: { force?: boolean }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        const daemon = new client.DaemonClient({ host, tls });
        for (const ref of images) for (const line of await forgiving(Boolean(opts.force), () => client.removeImage(daemon, ref, Boolean(opts.force)))) process.stdout.write(`${line}\n`);
        return;
      }
      const { openStore } = await import('../../cache/index.js');
      const store = await openStore(root);
      try {
        for (const ref of images) for (const line of await forgiving(Boolean(opts.force), () => removeOne(store, ref, Boolean(opts.force)))) process.stdout.write(`${line}\n`);
        await store.gc();
      } finally {
        store.close();
      }
    });
}

/** With --force, an image that is not there is no error, as `docker rmi -f` has it (cleanup steps rely on that). */
async function forgiving(force: boolean, remove: () => Promise<string[]>): Promise<string[]> {
  try {
    return await remove();
  } catch (e) {
    if (force && (e as { code?: string }).code === 'E_IMAGE_NOT_FOUND') return [];
    throw e;
  }
}

async function removeOne(store: Store, ref: string, force: boolean): Promise<string[]> {
  const { StoreError } = await import('../../cache/index.js');
  const { familiarName, normalizeReference } = await import('../../oci/index.js');
  const img = await store.resolveImage(ref);
  const top = img.indexDigest ?? img.manifestDigest;
  const byName = img.name !== undefined && img.name === safeNormalize(normalizeReference, ref);
  if (byName) {
    const { removedImage } = store.untag(img.name!);
    const out = [`Untagged: ${familiarName(img.name!)}`];
    if (removedImage) out.push(`Deleted: ${img.configDigest}`);
    return out;
  }
  const names = store.imageNames(top);
  if (names.length > 1 && !force) {
    throw new StoreError('E_IMAGE_IN_USE', `unable to delete ${ref}: the image is referenced by ${names.length} names`, {
      hint: 'remove the names one by one, or use --force to remove them all',
    });
  }
  store.removeImage(top);
  return [...names.map((n) => `Untagged: ${familiarName(n)}`), `Deleted: ${img.configDigest}`];
}

function safeNormalize(normalizeReference: (ref: string) => string, ref: string): string | undefined {
  try {
    return normalizeReference(ref);
  } catch {
    return undefined;
  }
}
