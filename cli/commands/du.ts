import type { Command } from 'commander';
import { humanSize } from './human.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('du')
    .description('Show the disk usage of the state root by kind, and what kiln prune could reclaim')
    .option('--format <format>', 'table (default) or json')
    .action(async (flags: { format?: string }, cmd: Command) => {
      const { diskUsage, openStore } = await import('../../cache/index.js');
      const store = await openStore(globalOptions(cmd).root);
      try {
        const u = await diskUsage(store);
        if (flags.format === 'json') {
          process.stdout.write(`${JSON.stringify(u)}\n`);
          return;
        }
        const rows: [string, string, string, string][] = [
          ['TYPE', 'COUNT', 'SIZE', 'RECLAIMABLE'],
          ['Blobs', String(u.blobs.count), humanSize(u.blobs.bytes), humanSize(u.blobs.reclaimableBytes)],
          ['Snapshots', String(u.snapshots.count), humanSize(u.snapshots.bytes), humanSize(u.snapshots.reclaimableBytes)],
          ['Cache mounts', String(u.cacheMounts.count), humanSize(u.cacheMounts.bytes), humanSize(u.cacheMounts.reclaimableBytes)],
          ['Build cache records', String(u.cacheRecords), '-', '-'],
        ];
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]! + 3)).join('').trimEnd()}\n`);
        process.stdout.write(`Total: ${humanSize(u.totalBytes)}\n`);
      } finally {
        store.close();
      }
    });
}
