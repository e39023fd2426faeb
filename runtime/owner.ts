import { join } from 'node:path';
import { procStat } from '../common/proc-stat.js';
import { scratchRoot } from '../common/state-root.js';

export { scratchRoot };

/**
 * Who owns scratch state: a pid plus that process's start time, so a recycled pid never makes
 * a dead kiln's leftovers look alive. Several kiln processes may share one state root.
 */
function startTime(pid: number): string | undefined {
  const stat = procStat(pid);
  // A zombie holds nothing any more; it only waits to be reaped.
  return stat && !stat.exited ? stat.startTime : undefined;
}

let self: string | undefined;

/** This process's owner tag, e.g. `4242-918273`. */
export function ownerTag(): string {
  self ??= `${process.pid}-${startTime(process.pid)}`;
  return self;
}

/** True when the tag names a process that is still running. Anything unparsable counts as dead. */
export function isLiveOwner(tag: string): boolean {
  const m = /^(\d+)-(\d+)$/.exec(tag);
  if (!m) return false;
  return startTime(Number(m[1])) === m[2];
}


/** This process's own scratch directory: snapshots and bundles live here, short paths on purpose. */
export function ownerDir(stateRoot: string): string {
  return join(scratchRoot(stateRoot), ownerTag());
}

export function runcRoot(stateRoot: string): string {
  return join(stateRoot, 'runc');
}
