import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VertexEvent } from '../solver/index.js';
import { kiln, type CliResult } from './build-helpers.js';

export interface CliBuild extends CliResult {
  /** Names of the steps that ran (not cached), without the `[stage n/m]` prefix. */
  ran: string[];
  /** The image's manifest digest (the pushed one, if it was pushed), from `--metadata-file`; empty when the build failed. */
  digest: string;
  /** The image id (config digest), from `--metadata-file`; empty when the build failed. */
  imageId: string;
}

/**
 * `kiln build ARGS CONTEXT` from source with rawjson progress, parsed into the steps that ran and
 * the digest; `global` options (`--host`) go before the command.
 */
export async function cliBuild(root: string, args: string[], context: string, global: string[] = []): Promise<CliBuild> {
  const meta = join(tmpdir(), `kiln-meta-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  try {
    const r = await kiln(root, [...global, 'build', '--progress', 'rawjson', '--metadata-file', meta, ...args, context]);
    if (r.code !== 0) return { ...r, ran: [], digest: '', imageId: '' };
    const ran = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as VertexEvent)
      .flatMap((e) => (e.type === 'start' ? [e.name.replace(/^\[[^\]]*\] /, '')] : []));
    const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string; 'containerimage.config.digest': string };
    return { ...r, ran, digest: m['containerimage.digest'], imageId: m['containerimage.config.digest'] };
  } finally {
    await rm(meta, { force: true });
  }
}
