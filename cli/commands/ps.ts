import type { Command } from 'commander';
import { globalOptions, type GlobalOptions } from '../options.js';

interface Row {
  id: string;
  image: string;
  command: string;
  created: Date;
  status: string;
  name: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('ps')
    .description('List running containers started by kiln')
    .option('-q, --quiet', 'only print container ids')
    .option('--no-trunc', 'do not truncate output')
    .action(async (o: { quiet?: boolean; trunc: boolean }) => {
      const { root, host, tls } = globalOptions(cmd);
      const containers = host === undefined ? await embedded(root) : await onDaemon(host, tls, o.trunc);
      if (o.quiet) {
        for (const c of containers) process.stdout.write(`${c.id}\n`);
        return;
      }
      const rows = containers.map((c) => {
        const command = JSON.stringify(c.command);
        return [c.id, c.image, o.trunc && command.length > 22 ? `${command.slice(0, 20)}…"` : command, ago(c.created), c.status, c.name];
      });
      const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], ...rows];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) process.stdout.write(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')}\n`);
    });
}

/** The runc containers of kiln processes on this state root (`kiln run` and build steps). */
async function embedded(root: string): Promise<Row[]> {
  const { listContainers } = await import('../../runtime/index.js');
  return (await listContainers(root)).map((c) => ({ id: c.id, image: c.image ?? '', command: c.command.join(' '), created: c.created, status: `Up (pid ${c.pid})`, name: c.name ?? '' }));
}

/** The daemon's running containers, with docker's short ids unless --no-trunc. */
async function onDaemon(host: string, tls: GlobalOptions['tls'], trunc: boolean): Promise<Row[]> {
  const client = await import('../../client/index.js');
  return (await client.listContainers(new client.DaemonClient({ host, tls }))).map((c) => ({
    id: trunc ? c.Id.slice(0, 12) : c.Id,
    image: c.Image,
    command: c.Command,
    created: new Date(c.Created * 1000),
    status: c.Status,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
  }));
}

function ago(date: Date): string {
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  return `${Math.round(s / 3600)} hours ago`;
}
