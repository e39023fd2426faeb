import type { Command } from 'commander';
import type { CheckFinding, StateCheckReport } from '../../daemon/state-check.js';
import { globalOptions } from '../options.js';

/**
 * `kiln check` is read-only: it does not run the start-up recovery other commands run, so it
 * shows what a killed kiln left behind until the next kiln process (or `--repair`) cleans it.
 * With --host it checks the daemon's state root.
 */
export function register(program: Command): void {
  program
    .command('check')
    .description('Verify the state root: every blob against its digest, every index row, leftover mounts, containers, temp files and snapshots')
    .option('--repair', 'remove what is orphaned or corrupt (never what a live kiln process holds)')
    .action(async (flags: { repair?: boolean }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      const repair = Boolean(flags.repair);
      let report: StateCheckReport;
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        report = await client.checkDaemonRoot(new client.DaemonClient({ host, tls }), repair);
      } else {
        // The module itself, not daemon/index.js: an embedded check needs none of the server.
        const { verifyStateRoot } = await import('../../daemon/state-check.js');
        report = await verifyStateRoot(root, repair);
      }
      for (const f of report.repaired) process.stdout.write(`repaired ${line(f)}\n`);
      if (report.blobsVerified !== undefined) process.stderr.write(`verified ${report.blobsVerified} blobs\n`);
      for (const f of report.remaining) process.stdout.write(`${line(f)}\n`);
      const n = report.remaining.length;
      process.stderr.write(n === 0 ? 'no problems found\n' : `${n} problem(s) found${repair ? ' after repair' : '; kiln check --repair removes what is orphaned'}\n`);
      if (n > 0) process.exitCode = 1;
    });
}

function line(f: CheckFinding): string {
  return `${f.kind}\t${f.subject}\t${f.detail}`;
}
