import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { MountKey, Store } from '../cache/index.js';
import { chompHeredocContent, parseHeredocMarker, type Heredoc } from '../grammar/index.js';
import { sha256Digest } from '../oci/index.js';
import type { RuntimeMount } from '../runtime/index.js';

/** Where BuildKit mounts the file of a RUN heredoc that starts with `#!`. */
const PIPES = '/dev/pipes';

/** A RUN heredoc that runs as a file of its own: its name and body. */
export interface HeredocScript {
  name: string;
  data: string;
}

/**
 * The command of a shell-form RUN with heredocs, as BuildKit's dispatchRun makes it. `RUN <<EOF`
 * alone runs the body: a body starting with `#!` as an executable file (its interpreter, not the
 * shell, reads it), any other as the shell's script, `<<-` tabs stripped either way. Otherwise the
 * line and the bodies go to the shell, which reads the heredocs itself.
 */
export function heredocRun(command: string, heredocs: readonly Heredoc[], shell: readonly string[]): { argv: string[]; script?: HeredocScript } {
  const marker = parseHeredocMarker(command.trim());
  if (marker === undefined) {
    // BuildKit: the line, then "\n" + body + delimiter for each heredoc (no final newline).
    const bodies = heredocs.map((h) => `\n${h.content}${h.name}`).join('');
    return { argv: [...shell, `${command}${bodies}`] };
  }
  const doc = heredocs[0]!;
  const data = marker.chomp ? chompHeredocContent(doc.content) : doc.content;
  if (!data.startsWith('#!')) return { argv: [...shell, data] };
  return { argv: [...shell, posix.join(PIPES, doc.name)], script: { name: doc.name, data } };
}

/** What a script adds to its step's cache key: its place and its content. */
export function scriptMountKey(script: HeredocScript): MountKey {
  return { type: 'heredoc', target: posix.join(PIPES, script.name), from: sha256Digest(script.data) };
}

/**
 * Writes the script (mode 0755) into a temp dir of the store and gives the read-only mount of that
 * dir at /dev/pipes, with the function that removes the dir once the step is over.
 */
export async function scriptMount(store: Store, script: HeredocScript): Promise<{ mount: RuntimeMount; remove: () => Promise<void> }> {
  const dir = store.layout.tempPath('heredoc');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, script.name);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    // Whatever USER the step runs as reads and runs it.
    await chmod(dir, 0o755);
    await writeFile(file, script.data, { mode: 0o755 });
    await chmod(file, 0o755);
  } catch (e) {
    await remove();
    throw e;
  }
  return { mount: { type: 'bind', source: dir, target: PIPES, readonly: true }, remove };
}
