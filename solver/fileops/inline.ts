import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanRel, selectSources, TreeView } from '../context/index.js';
import { copyMatches, type CopyOptions } from './copy.js';

/** A heredoc COPY/ADD source, its `$VAR`s already expanded by the caller when they should be. */
export interface InlineFile {
  path: string;
  data: string;
}

/**
 * Heredoc sources: each becomes a 0644 root-owned file named by its heredoc, copied with the
 * same rules as a context file.
 */
export async function copyInline(files: InlineFile[], o: Omit<CopyOptions, 'sources' | 'sourceRoot' | 'context'>): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'kiln-heredoc-'));
  try {
    for (const f of files) {
      const path = join(scratch, cleanRel(f.path));
      await writeFile(path, f.data, { mode: 0o644 });
      // A heredoc has no time of its own: with SOURCE_DATE_EPOCH it gets that one, not now.
      if (o.createdTime !== undefined) await utimes(path, o.createdTime, o.createdTime);
    }
    const view = new TreeView(scratch);
    const matches = selectSources(
      view,
      files.map((f) => cleanRel(f.path)),
    );
    await copyMatches(view, matches, { ...o, chown: o.chown ?? { uid: 0, gid: 0 } });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
