import type { Command } from 'commander';
import { resolveStateRoot } from '../common/state-root.js';

/** Options every kiln command accepts, wherever they appear on the command line. */
export interface GlobalOptions {
  root: string;
  debug: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { root?: string; debug?: boolean };
  return { root: resolveStateRoot(o.root), debug: Boolean(o.debug) };
}

/** Collects a repeatable option (`-t a -t b`) into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
