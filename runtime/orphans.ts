import { readdirSync, readFileSync } from 'node:fs';
import { HELPER_MARK } from './shell-helper.js';

/** What a SIGKILLed kiln process left running: the children that outlive it until their work ends. */
export interface Orphans {
  /** Its mount helper shells (see shell-helper.ts), which finish their last command first. */
  helpers: number[];
  /** Its `runc run` processes, with their container ids: a container keeps running after kiln died. */
  runcs: { pid: number; id: string }[];
}

/**
 * The processes kiln started for the owners tagged `tags` (scratch dirs under `scratch`), found by
 * their arguments: a helper carries its owner's tag, a runc the bundle in its owner's dir.
 */
export function orphansOf(scratch: string, tags: readonly string[]): Orphans {
  const found: Orphans = { helpers: [], runcs: [] };
  if (tags.length === 0) return found;
  const bundles = tags.map((t) => `${scratch}/${t}/`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const pid = Number(name);
    if (argv[2] === HELPER_MARK && tags.includes(argv[3]!)) found.helpers.push(pid);
    const bundle = argv.indexOf('--bundle');
    if (bundle > 0 && argv.includes('run') && bundles.some((b) => argv[bundle + 1]?.startsWith(b))) found.runcs.push({ pid, id: argv[bundle + 2]! });
  }
  return found;
}
