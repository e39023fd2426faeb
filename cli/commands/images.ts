import type { Command } from 'commander';
import { KilnError } from '../../common/errors.js';
import { renderTemplate } from '../go-template.js';
import { collect, globalOptions } from '../options.js';
import { createdAgo, humanSize, table } from './human.js';

/** What `docker images --format` reads of an image. */
interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
}

export function register(program: Command): void {
  program
    .command('images')
    .description('List images in the local store')
    .option('-q, --quiet', 'only show image ids')
    .option('--no-trunc', 'do not shorten image ids')
    .option('-f, --filter <filter>', 'dangling=true|false or reference=PATTERN (repeatable, all must hold)', collect)
    .option('--format <template>', 'print each image with a Go template ({{.Repository}}:{{.Tag}}, {{.ID}}, ...), or json')
    .action(async (opts: { quiet?: boolean; trunc: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      const { familiarReference, parseReference, shortId } = await import('../../oci/index.js');
      const { openStore } = await import('../../cache/index.js');
      const { matchSegment } = await import('../../solver/context/glob.js');
      const keep = imageFilter(opts.filter ?? [], matchSegment);
      const client = host === undefined ? undefined : await import('../../client/index.js');
      const store = client ? undefined : await openStore(root);
      try {
        const images = client ? await client.listImages(new client.DaemonClient({ host: host!, tls })) : await store!.listImages();
        const id = (d: string) => (opts.trunc ? shortId(d) : d);
        const rows: ImageRow[] = [];
        for (const img of images) {
          let repo = '<none>';
          let tag = '<none>';
          if (img.name !== undefined) {
            const ref = parseReference(img.name);
            repo = familiarReference({ ...ref, tag: undefined, digest: undefined });
            tag = ref.tag ?? '<none>';
          }
          const row = { ID: id(img.configDigest), Repository: repo, Tag: tag, Digest: '<none>', CreatedSince: createdAgo(img.created), CreatedAt: img.created ?? '', Size: humanSize(img.size) };
          if (keep(row)) rows.push(row);
        }
        if (opts.quiet) {
          process.stdout.write([...new Set(rows.map((r) => r.ID))].map((s) => `${s}\n`).join(''));
          return;
        }
        if (opts.format !== undefined) {
          const line = opts.format === 'json' ? (r: ImageRow) => JSON.stringify(r) : (r: ImageRow) => renderTemplate(opts.format!, r);
          process.stdout.write(rows.map((r) => `${line(r)}\n`).join(''));
          return;
        }
        process.stdout.write(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size])]));
      } finally {
        store?.close();
      }
    });
}

/**
 * docker's image filters kiln has: `dangling` (no name) and `reference`, a pattern on
 * REPOSITORY[:TAG] matched as Go's path.Match (what docker's FamiliarMatch uses).
 */
function imageFilter(filters: string[], match: (pattern: string, name: string) => boolean): (row: ImageRow) => boolean {
  const tests: ((row: ImageRow) => boolean)[] = [];
  for (const f of filters) {
    const eq = f.indexOf('=');
    const [key, value] = eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
    if (key === 'dangling' && (value === 'true' || value === 'false')) {
      tests.push((r) => (r.Repository === '<none>') === (value === 'true'));
    } else if (key === 'reference' && value !== '') {
      try {
        match(value, '');
      } catch (e) {
        throw new KilnError('E_USAGE', `invalid filter "${f}": ${(e as Error).message}`, { hint: 'a pattern as docker takes it, e.g. reference=team/*:v1' });
      }
      tests.push((r) => r.Repository !== '<none>' && (match(value, r.Repository) || match(value, `${r.Repository}:${r.Tag}`)));
    } else {
      throw new KilnError('E_USAGE', `unsupported filter "${f}"`, { hint: 'use dangling=true|false or reference=PATTERN' });
    }
  }
  return (row) => tests.every((t) => t(row));
}
