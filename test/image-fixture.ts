/** Test helpers for the image tests: the kiln CLI from source, the busybox image, tree comparison. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { collectOutput, type ProcessResult } from './process-output.js';

export const run = promisify(execFile);
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliPath = join(repoRoot, 'cli', 'main.ts');

export type CliResult = ProcessResult;

export function kiln(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return collectOutput(process.execPath, ['--import', import.meta.resolve('tsx'), cliPath, '--root', root, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
}

/** Like kiln() but fails with the output when the command fails. */
export async function kilnOk(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await kiln(root, args, env);
  if (r.code !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Makes busybox:latest in `root` with fixtures/make-busybox-image.sh, keeping the tree in `tree`. */
export async function makeBusybox(root: string, tree: string): Promise<void> {
  await run('bash', [join(repoRoot, 'fixtures', 'make-busybox-image.sh'), root, 'busybox:latest', tree]);
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Every entry below `root`: type, permission bits, owner, symlink target or content hash. */
export async function describeTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      let what: string;
      if (st.isSymbolicLink()) what = `link -> ${await readlink(path)}`;
      else if (st.isDirectory()) what = 'dir';
      else if (st.isFile()) what = `file ${await sha256File(path)}`;
      else what = `other ${st.mode >> 12}`;
      const mode = st.isSymbolicLink() ? '' : (st.mode & 0o7777).toString(8);
      out.set(r, `${what} mode=${mode} owner=${st.uid}:${st.gid}`);
      if (st.isDirectory()) await walk(path, r);
    }
  }
  await walk(root, '');
  return out;
}
