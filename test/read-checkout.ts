/**
 * How a test runs code of the checkout as an unprivileged user (nobody, or a throw-away user). The
 * checkout may sit below a directory others cannot search (a clone made under `mktemp -d` is in a
 * 0700 one), and no capability helps there: tsx looks for files with access(2), which ignores
 * capabilities, and rootless kiln re-executes itself in a user namespace, where the host's root
 * owns nothing. So the process gets a view of the checkout others can reach.
 */
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repo } from './build-helpers.js';

function othersCanReach(dir: string): boolean {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}

/** Empty everywhere but in the private mount namespaces that bind the checkout onto it. */
const mountPoint = join(tmpdir(), 'kiln-checkout-view');

export interface CheckoutView {
  /** Where the checkout is for the wrapped process. */
  dir: string;
  /** `path` (inside the checkout) as the wrapped process sees it. */
  path(path: string): string;
  /** The argv that runs `argv` with the view in place, from the view's root. */
  wrap(argv: string[]): string[];
}

function makeView(): CheckoutView {
  if (othersCanReach(repo)) return { dir: repo, path: (p) => p, wrap: (argv) => argv };
  mkdirSync(mountPoint, { recursive: true, mode: 0o755 });
  return {
    dir: mountPoint,
    path: (p) => join(mountPoint, relative(repo, p)),
    // A private mount namespace: the bind mount ends with the last process in it and is seen by no one else.
    wrap: (argv) => ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" "$1" && cd "$1" && shift && exec "$@"', repo, mountPoint, ...argv],
  };
}

export const checkoutView: CheckoutView = makeView();

/** node's arguments that run FILE, a source file of the checkout, through tsx in the wrapped process. */
export function tsxArgs(file: string): string[] {
  return ['--import', pathToFileURL(checkoutView.path(fileURLToPath(import.meta.resolve('tsx')))).href, checkoutView.path(file)];
}
