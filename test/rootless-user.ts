/** Test helper: a throw-away unprivileged user, with or without a subordinate id range, to run kiln as. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cliMain, repo } from './build-helpers.js';
import { collectOutput, type ProcessResult } from './process-output.js';
import { checkoutView, tsxArgs } from './read-checkout.js';

const run = promisify(execFile);

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The user's home: its default state root is `home/.local/share/kiln`. */
  home: string;
  /** A directory other users can reach (the home's parent), for contexts and outputs the test shares. */
  shared: string;
  /** Runs a program as the user, from the repository, with only HOME, PATH, CI=true and `env` set. */
  run(file: string, args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }): Promise<ProcessResult>;
  /** `kiln ARGS` from source as the user (no --root: the user's default state root). */
  kiln(args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }): Promise<ProcessResult>;
  /** The argv that runs `file args` as the user, to spawn it some other way (on a terminal, in the background). */
  argv(file: string, args: string[], env?: NodeJS.ProcessEnv): string[];
  /** Removes the user, its home and its /etc/subuid and /etc/subgid lines. */
  remove(): Promise<void>;
}

/** useradd, usermod and userdel lock /etc/passwd; test files running side by side may collide there. */
async function withRetries(file: string, args: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run(file, args);
      return;
    } catch (err) {
      if (attempt >= 20 || !/lock|try again/i.test(String((err as { stderr?: string }).stderr))) throw err;
      await sleep(100 * attempt);
    }
  }
}

/**
 * Creates a user with a home under a fresh directory. With `subordinateIds`, useradd gives it a range
 * of 65536 ids in /etc/subuid and /etc/subgid (taking a free one under its own lock); without, none.
 */
export async function createUser(options: { subordinateIds: boolean }): Promise<TestUser> {
  const name = `kiln-rl-${randomBytes(4).toString('hex')}`;
  const shared = await mkdtemp(join(tmpdir(), 'kiln-user-'));
  await chmod(shared, 0o755);
  const home = join(shared, 'home');
  const count = options.subordinateIds ? '65536' : '0';
  await withRetries('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/sh', '-K', `SUB_UID_COUNT=${count}`, '-K', `SUB_GID_COUNT=${count}`, name]);
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  const argv = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) => checkoutView.wrap([
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--init-groups',
    'env',
    '-i',
    `HOME=${home}`,
    `USER=${name}`,
    `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
    'CI=true',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    file,
    ...args,
  ]);
  const runAs = (file: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}) => {
    const [cmd, ...rest] = argv(file, args, o.env);
    return collectOutput(cmd!, rest, { cwd: repo }, o.input);
  };
  return {
    name,
    uid,
    gid,
    home,
    shared,
    run: runAs,
    kiln: (args, o) => runAs(process.execPath, [...tsxArgs(cliMain), ...args], o),
    argv,
    async remove() {
      await withRetries('userdel', ['--remove', '--force', name]);
      await rm(shared, { recursive: true, force: true });
      for (const file of ['/etc/subuid', '/etc/subgid']) {
        if ((await readFile(file, 'utf8')).split('\n').some((l) => l.startsWith(`${name}:`))) throw new Error(`userdel left ${name}'s line in ${file}`);
      }
    },
  };
}

/** Spawns `argv` (from TestUser.argv) in the background, from the repository. */
export function spawnAs(argv: string[]): ChildProcess {
  return spawn(argv[0]!, argv.slice(1), { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
}
