import type { Command } from 'commander';
import type { DiskUsage } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { globalOptions, type GlobalOptions } from '../options.js';
import { humanSize } from './human.js';

export function register(program: Command): void {
  program
    .command('du')
    .description('Show the disk usage of the state root by kind, and what kiln prune could reclaim')
    .option('--format <format>', 'table (default) or json')
    .action(async (flags: { format?: string }, cmd: Command) => {
      if (flags.format !== undefined && flags.format !== 'table' && flags.format !== 'json') {
        throw new KilnError('E_USAGE', `unknown --format "${flags.format}"`, { hint: 'use --format table or --format json' });
      }
      const { root, host, tls } = globalOptions(cmd);
      const u = await usage(root, host, tls);
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
    });
}

async function usage(root: string, host: string | undefined, tls: GlobalOptions['tls']): Promise<DiskUsage> {
  if (host !== undefined) {
    const client = await import('../../client/index.js');
    return client.daemonDiskUsage(new client.DaemonClient({ host, tls }));
  }
  const { diskUsage, openStore } = await import('../../cache/index.js');
  const store = await openStore(root);
  try {
    return await diskUsage(store);
  } finally {
    store.close();
  }
}
