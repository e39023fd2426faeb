import type { Command } from 'commander';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('ps')
    .description('List running containers started by kiln')
    .option('-q, --quiet', 'only print container ids')
    .option('--no-trunc', 'do not truncate output')
    .action(async (o: { quiet?: boolean; trunc: boolean }) => {
      const { root } = globalOptions(cmd);
      const { listContainers } = await import('../../runtime/index.js');
      const containers = await listContainers(root);
      if (o.quiet) {
        for (const c of containers) process.stdout.write(`${c.id}\n`);
        return;
      }
      const rows = containers.map((c) => {
        const command = JSON.stringify(c.command.join(' '));
        return [c.id, c.image ?? '', o.trunc && command.length > 22 ? `${command.slice(0, 20)}…"` : command, ago(c.created), `Up (pid ${c.pid})`, c.name ?? ''];
      });
      const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], ...rows];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) process.stdout.write(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')}\n`);
    });
}

function ago(date: Date): string {
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  return `${Math.round(s / 3600)} hours ago`;
}
