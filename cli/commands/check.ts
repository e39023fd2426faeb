import type { Command } from 'commander';
import { globalOptions } from '../options.js';

interface Finding {
  kind: string;
  subject: string;
  detail: string;
}

/**
 * `kiln check` is read-only: it does not run the start-up recovery other commands run, so it
 * shows what a killed kiln left behind until the next kiln process (or `--repair`) cleans it.
 */
export function register(program: Command): void {
  program
    .command('check')
    .description('Verify the state root: every blob against its digest, every index row, leftover mounts, containers, temp files and snapshots')
    .option('--repair', 'remove what is orphaned or corrupt (never what a live kiln process holds)')
    .action(async (flags: { repair?: boolean }, cmd: Command) => {
      const { root } = globalOptions(cmd);
      const { checkStore, repairStore } = await import('../../cache/index.js');
      const { cleanupLeftovers, findLeftovers } = await import('../../runtime/index.js');
      const leftovers = (r: { containers: string[]; mounts: string[]; dirs: string[] }): Finding[] => [
        ...r.containers.map((c) => ({ kind: 'leftover-container', subject: c, detail: 'runc container of a dead kiln process' })),
        ...r.mounts.map((m) => ({ kind: 'leftover-mount', subject: m, detail: 'overlay mount of a dead kiln process' })),
        ...r.dirs.map((d) => ({ kind: 'leftover-scratch', subject: d, detail: 'scratch dir of a dead kiln process' })),
      ];
      let remaining: Finding[];
      if (flags.repair) {
        const fixedRuntime = leftovers(await cleanupLeftovers(root));
        const store = await repairStore(root);
        for (const f of [...fixedRuntime, ...store.repaired]) process.stdout.write(`repaired ${line(f)}\n`);
        remaining = [...leftovers(await findLeftovers(root)), ...store.remaining];
      } else {
        const runtime = leftovers(await findLeftovers(root));
        const store = await checkStore(root);
        remaining = [...runtime, ...store.findings];
        process.stderr.write(`verified ${store.blobsVerified} blobs\n`);
      }
      for (const f of remaining) process.stdout.write(`${line(f)}\n`);
      process.stderr.write(remaining.length === 0 ? 'no problems found\n' : `${remaining.length} problem(s) found${flags.repair ? ' after repair' : '; kiln check --repair removes what is orphaned'}\n`);
      if (remaining.length > 0) process.exitCode = 1;
    });
}

function line(f: Finding): string {
  return `${f.kind}\t${f.subject}\t${f.detail}`;
}
