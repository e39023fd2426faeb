/** Test helper: the built CLI (`npm run build` first), run as a user's shell runs it: bin/kiln.js by its #! line. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { dirname, join } from 'node:path';
import { repo } from './build-helpers.js';
import { collectOutput, type ProcessResult } from './process-output.js';

const kilnBin = join(repo, 'bin', 'kiln.js');

/** The environment for it: this node first on PATH (the #! line finds node there), CI's plain progress. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, CI: 'true', ...extra };
}

export interface BuiltKilnOptions {
  /** Written to stdin, which is then closed; without it stdin is an empty pipe. */
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** `kiln --root ROOT ARGS...` to completion. */
export function builtKiln(root: string, args: string[], options: BuiltKilnOptions = {}): Promise<ProcessResult> {
  return collectOutput(kilnBin, ['--root', root, ...args], { cwd: options.cwd ?? repo, env: env(options.env) }, options.input ?? '');
}

/** `kiln --root ROOT ARGS...` started, for a test that signals it or gives it an odd stdout; stderr is piped by default. */
export function spawnBuiltKiln(root: string, args: string[], stdio: StdioOptions = ['ignore', 'ignore', 'pipe']): ChildProcess {
  return spawn(kilnBin, ['--root', root, ...args], { cwd: repo, env: env(), stdio });
}
