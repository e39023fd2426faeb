import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import { KilnError } from '../common/errors.js';
import { forwardSignals } from '../common/forward-signals.js';
import { procStat } from '../common/proc-stat.js';
import { runCommand } from './command.js';
import { ID_FILES, rootlessSetup, type RootlessSetup } from './rootless-setup.js';
import { mapArguments } from './subordinate-ids.js';

/**
 * The child, already in its new user and mount namespace, says so on fd 3 and waits there until
 * its id maps are written: only then is it root in the namespace, so only then may it become kiln.
 */
const AWAIT_MAPS = 'printf x >&3 && read -r go <&3 && [ "$go" = go ] && exec "$@" 3<&-';

/** Keyboard signals: the terminal sends them to its whole foreground process group, the child too. */
const FROM_KEYBOARD: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];

/**
 * Runs this kiln command again as root of its user namespace, with the state root this user would
 * get, and resolves to its exit code; undefined when the user has no rootless setup (the commands
 * that need one then fail saying what to configure).
 */
export async function reexecRootless(stateRoot: string): Promise<number | undefined> {
  let setup: RootlessSetup;
  try {
    setup = rootlessSetup();
  } catch {
    return undefined;
  }
  // `--`: node would take kiln's own --env-file for its own (see bin/kiln.js).
  return runInUserNamespace(setup, [process.execPath, ...process.execArgv, '--', ...process.argv.slice(1)], { ...process.env, KILN_ROOT: stateRoot });
}

/**
 * Runs `command` as root of a new user namespace (0 is this user, 1 on the subordinate ranges)
 * with its own mount namespace, as `buildah unshare` does, and resolves to its exit code. Node
 * cannot unshare or exec itself, so this process stays as the child's parent: it forwards signals,
 * and its death kills the child (setpriv --pdeathsig).
 */
async function runInUserNamespace(setup: RootlessSetup, command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn('unshare', ['--user', '--mount', '--', '/bin/sh', '-c', AWAIT_MAPS, 'kiln-userns', 'setpriv', '--pdeathsig', 'KILL', '--', ...command], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', (err) => reject(new KilnError('E_RUNTIME_SPAWN', `cannot run unshare: ${err.message}`, { cause: err, hint: 'install util-linux' })));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // Keyboard signals reach the child from the terminal already, when kiln is in its foreground.
  const unforward = forwardSignals((signal) => child.kill(signal), { skip: (signal) => FROM_KEYBOARD.includes(signal) && inTerminalForeground() });
  try {
    await writeMaps(setup, child, exited);
    const { code, signal } = await exited;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    unforward();
  }
}

async function writeMaps(setup: RootlessSetup, child: ChildProcess, exited: Promise<{ code: number | null }>): Promise<void> {
  const sync = child.stdio[3] as Duplex;
  const ready = new Promise<boolean>((resolve) => {
    sync.once('data', () => resolve(true));
    sync.once('close', () => resolve(false));
  });
  if (!(await Promise.race([ready, exited.then(() => false)]))) {
    const { code } = await exited;
    throw new KilnError('E_RUNTIME_USERNS', `cannot create a user namespace (unshare exited with ${code})`, {
      hint: 'unprivileged user namespaces must be allowed: sysctl user.max_user_namespaces above 0, kernel.unprivileged_userns_clone=1 on older Debian kernels, kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04',
    });
  }
  const pid = String(child.pid);
  for (const [helper, self, ranges, file] of [
    [setup.newuidmap, setup.uid, setup.uids, ID_FILES.subuid],
    [setup.newgidmap, setup.gid, setup.gids, ID_FILES.subgid],
  ] as const) {
    const r = await runCommand(helper, [pid, ...mapArguments(self, ranges)]);
    if (r.code !== 0) {
      child.kill('SIGKILL');
      throw new KilnError('E_RUNTIME_USERNS', `cannot map ${setup.user}'s subordinate ids into kiln's user namespace: ${r.stderr.trim() || `${helper} exited with ${r.code}`}`, {
        hint: `check ${setup.user}'s line in ${file} and that ${helper} is setuid root or has its file capabilities (reinstall the uidmap package)`,
      });
    }
  }
  sync.end('go\n');
}

/** Whether this process is in its controlling terminal's foreground process group. */
function inTerminalForeground(): boolean {
  const stat = procStat('self');
  return stat !== undefined && stat.ttyNr !== '0' && stat.pgrp === stat.tpgid;
}
