import type { Command } from 'commander';
import { KilnError } from '../common/errors.js';
import { checkStateRoot, resolveStateRoot } from '../common/state-root.js';

/** Options every kiln command accepts, wherever they appear on the command line. */
export interface GlobalOptions {
  root: string;
  debug: boolean;
  /** The daemon to be a client of (`--host` or KILN_HOST); undefined means embedded. */
  host: string | undefined;
  /** `--tlscacert`, `--tlscert`, `--tlskey` for a TCP host. */
  tls: { ca?: string; cert?: string; key?: string };
}

/** The global --host, else KILN_HOST; read from the program so a command's own --host (serve's) is not taken for it. */
export function daemonHost(cmd: Command): string | undefined {
  let top = cmd;
  while (top.parent) top = top.parent;
  const h = (top.opts() as { host?: string }).host ?? process.env.KILN_HOST;
  return h === '' ? undefined : h;
}

/** The global options; a state root that exists but is not a directory fails here, for every command that has one. */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { root?: string; debug?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string };
  const root = resolveStateRoot(o.root);
  checkStateRoot(root);
  return {
    root,
    debug: Boolean(o.debug),
    host: daemonHost(cmd),
    tls: { ...(o.tlscacert ? { ca: o.tlscacert } : {}), ...(o.tlscert ? { cert: o.tlscert } : {}), ...(o.tlskey ? { key: o.tlskey } : {}) },
  };
}

/** Collects a repeatable option (`-t a -t b`) into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A boolean flag's value, spelt as docker's flags take it (Go's strconv.ParseBool). */
export function boolFlag(flag: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new KilnError('E_USAGE', `invalid ${flag} "${value}": not a boolean`, { hint: `use ${flag} true or ${flag} false` });
}
