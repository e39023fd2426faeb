import { readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat that kiln reads (proc(5): state, pgrp, tty_nr, tpgid, starttime). */
export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  pgrp: string;
  /** The controlling terminal's device number, '0' when there is none. */
  ttyNr: string;
  /** The foreground process group of that terminal. */
  tpgid: string;
  /** Clock ticks after boot: with the pid, it names a process even once its pid is reused. */
  startTime: string;
  /**
   * A zombie (or dead) process: it has exited and holds nothing any more, and only waits for its
   * parent to reap it, which can take a while after a SIGKILL.
   */
  exited: boolean;
}

/** The stat of process `pid` (or this one), or undefined when there is none (or no /proc to ask). */
export function procStat(pid: number | 'self'): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The fields follow the parenthesised command name, which may itself hold spaces or parens.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = f[0] ?? '';
  return { state, pgrp: f[2] ?? '', ttyNr: f[4] ?? '', tpgid: f[5] ?? '', startTime: f[19] ?? '', exited: state === 'Z' || state === 'X' };
}
