import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
    for (const f of files) await writeFile(join(scratch, cleanRel(f.path)), f.data, { mode: 0o644 });
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
