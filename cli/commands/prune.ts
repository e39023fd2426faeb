import type { Command } from 'commander';
import type { PruneResult } from '../../cache/index.js';
import { readlinePromises } from '../../common/builtins.js';
import { KilnError } from '../../common/errors.js';
import { humanSize } from './human.js';
import { collect, globalOptions } from '../options.js';

interface PruneFlags {
  all?: boolean;
  force?: boolean;
  keepStorage?: string;
  filter?: string[];
}

export function register(program: Command): void {
  program
    .command('prune')
    .description('Remove build cache (like docker builder prune); images are never removed')
    .option('-a, --all', 'remove all build cache, cache mounts and the context stat cache, not just cache no image uses')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--keep-storage <size>', 'keep this much storage (e.g. 5GB), removing least recently used cache first')
    .option('--filter <filter>', 'only cache not used for a duration: until=24h', collect)
    .action(async (flags: PruneFlags, cmd: Command) => {
      const { openStore, parseSize, prune } = await import('../../cache/index.js');
      const keepStorage = flags.keepStorage === undefined ? undefined : sizeFlag(parseSize, flags.keepStorage);
      const olderThanMs = untilFilter(flags.filter ?? []);
      const { root, host, tls } = globalOptions(cmd);
      if (!flags.force && !(await confirm(flags.all ? 'all build cache' : 'all dangling build cache'))) return;
      const policy = { all: Boolean(flags.all), ...(keepStorage !== undefined ? { keepStorage } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) };
      let r: PruneResult;
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        r = await client.pruneDaemon(new client.DaemonClient({ host, tls }), policy);
      } else {
        const store = await openStore(root);
        try {
          r = await store.withLock('prune', () => prune(store, policy));
        } finally {
          store.close();
        }
      }
      process.stdout.write(`Deleted build cache records: ${r.removedRecords}\n`);
      process.stdout.write(`Deleted blobs: ${r.removedBlobs}, snapshots: ${r.removedSnapshots}, cache mounts: ${r.removedCacheMounts}\n`);
      process.stdout.write(`Total reclaimed space: ${humanSize(r.freedBytes)}\n`);
    });
}

function sizeFlag(parseSize: (text: string) => number | undefined, text: string): number {
  const n = parseSize(text);
  if (n === undefined) throw new KilnError('E_CLI_USAGE', `invalid --keep-storage "${text}"`, { hint: 'use a size such as 5GB, 512MB or a number of bytes' });
  return n;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `until=<Go duration>` (docker's filter): only cache unused for longer than that. */
function untilFilter(filters: string[]): number | undefined {
  let out: number | undefined;
  for (const f of filters) {
    const [key, value = ''] = f.split('=', 2);
    if (key !== 'until') throw new KilnError('E_CLI_USAGE', `unsupported prune filter "${f}"`, { hint: 'kiln prune supports --filter until=<duration>, e.g. until=24h' });
    const parts = [...value.matchAll(DURATION_PART)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
      throw new KilnError('E_CLI_USAGE', `invalid duration in filter "${f}"`, { hint: 'use a duration such as 24h, 90m or 1h30m' });
    }
    out = parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  }
  return out;
}

async function confirm(what: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new KilnError('E_CLI_USAGE', 'prune needs confirmation, and stdin is not a terminal', { hint: 'pass -f to prune without a prompt' });
  }
  // Loaded here: every kiln start imports this module, and readline costs one ~0.6 ms.
  const rl = readlinePromises().createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
