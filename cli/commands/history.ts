import type { Command } from 'commander';
import type { HistoryRow } from '../../cache/index.js';
import { boolFlag, globalOptions } from '../options.js';
import { createdAgo, humanSize, table } from './human.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('Show the history of an image')
    .argument('<image>', 'image name or id')
    .option('--no-trunc', 'do not truncate output')
    .option('-H, --human <bool>', 'print sizes and dates in human readable format', 'true')
    .action(async (image: string, opts: { trunc: boolean; human: string }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      let history: HistoryRow[];
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        history = await client.imageHistory(new client.DaemonClient({ host, tls }), image);
      } else {
        const { historyRows, openStore } = await import('../../cache/index.js');
        const store = await openStore(root);
        try {
          history = historyRows(store, await store.resolveImage(image));
        } finally {
          store.close();
        }
      }
      const { rfc3339, shortId } = await import('../../oci/index.js');
      const { NO_TIME } = await import('../../cache/index.js');
      const human = boolFlag('-H', opts.human);
      const rows = [['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
      for (const h of history) {
        let by = h.CreatedBy.replace(/\s+/g, ' ');
        if (opts.trunc && by.length > 45) by = `${by.slice(0, 44)}…`;
        const id = h.Id !== '<missing>' && opts.trunc ? shortId(h.Id) : h.Id;
        const iso = h.Created === NO_TIME ? undefined : rfc3339(new Date(h.Created * 1000));
        const created = human ? createdAgo(iso) : (iso ?? '');
        rows.push([id, created, by, human ? humanSize(h.Size) : String(h.Size), h.Comment]);
      }
      process.stdout.write(table(rows));
    });
}
