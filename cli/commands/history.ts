import type { Command } from 'commander';
import { globalOptions } from '../options.js';
import { createdAgo, humanSize, table } from './human.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('Show the history of an image')
    .argument('<image>', 'image name or id')
    .option('--no-trunc', 'do not truncate output')
    .option('-H, --human <bool>', 'print sizes and dates in human readable format', 'true')
    .action(async (image: string, opts: { trunc: boolean; human: string }, cmd: Command) => {
      const { openStore } = await import('../../cache/index.js');
      const { shortId } = await import('../../oci/index.js');
      const store = await openStore(globalOptions(cmd).root);
      try {
        const img = await store.resolveImage(image);
        const human = opts.human !== 'false';
        const history = img.config.history ?? img.layers.map(() => ({}));
        let layer = img.layers.length - 1;
        const rows = [['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
        // Newest first; layers pair with the non-empty history entries from the end.
        for (let i = history.length - 1; i >= 0; i--) {
          const h = history[i] as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean };
          const size = h.empty_layer ? 0 : (img.layers[layer--]?.size ?? 0);
          let by = (h.created_by ?? '').replace(/\s+/g, ' ');
          if (opts.trunc && by.length > 45) by = `${by.slice(0, 44)}…`;
          const id = i === history.length - 1 ? (opts.trunc ? shortId(img.configDigest) : img.configDigest) : '<missing>';
          const created = human ? createdAgo(h.created) : (h.created ?? '');
          rows.push([id, created, by, human ? humanSize(size) : String(size), h.comment ?? '']);
        }
        process.stdout.write(table(rows));
      } finally {
        store.close();
      }
    });
}
