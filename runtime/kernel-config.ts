import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { join } from 'node:path';
import { zlib } from '../common/builtins.js';

/** The running kernel's build configuration, from /boot or /proc/config.gz; null when neither is there. */
function kernelConfig(): string | null {
  try {
    return readFileSync(`/boot/config-${osRelease()}`, 'utf8');
  } catch {
    try {
      return zlib().gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    } catch {
      // Neither file: the kernel's options cannot be known.
      return null;
    }
  }
}

/** Answers so far: the configuration is fixed while kiln runs, and the x32 question is asked for every container. */
const answers = new Map<string, boolean | undefined>();

/**
 * Answers kept in the state root for the kernel that gave them: the same until the machine
 * boots again (a new boot id). Reading /proc/config.gz costs loading zlib and a gunzip, ~4 ms
 * before a process's first container could start; the file is one small read.
 */
const FACTS_FILE = 'kernel-facts.json';

interface KernelFacts {
  bootId: string;
  release: string;
  /** Option -> built in (or as a module), not, or null: unknown (no configuration to read). */
  has: Record<string, boolean | null>;
}

/**
 * Whether the kernel was built with `option`: true or false when its configuration says, else
 * undefined. With `stateRoot`, the answer is remembered there for later processes.
 */
export function kernelHas(option: string, stateRoot?: string): boolean | undefined {
  if (answers.has(option)) return answers.get(option);
  const boot = stateRoot === undefined ? undefined : bootOf();
  const facts = stateRoot === undefined || boot === undefined ? undefined : readFacts(stateRoot, boot);
  if (facts && option in facts.has) {
    const known = facts.has[option] ?? undefined;
    answers.set(option, known);
    return known;
  }
  const text = kernelConfig();
  // A plain search: a multi-line RegExp over the whole config costs milliseconds.
  const at = text === null ? undefined : `\n${text}`;
  const answer = at === undefined ? undefined : at.includes(`\n${option}=y\n`) || at.includes(`\n${option}=m\n`);
  answers.set(option, answer);
  if (stateRoot !== undefined && boot !== undefined) writeFacts(stateRoot, { ...boot, has: { ...facts?.has, [option]: answer ?? null } });
  return answer;
}

function bootOf(): { bootId: string; release: string } | undefined {
  try {
    return { bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), release: osRelease() };
  } catch {
    // No boot id (an unusual /proc): nothing is remembered.
    return undefined;
  }
}

function readFacts(stateRoot: string, boot: { bootId: string; release: string }): KernelFacts | undefined {
  try {
    const facts = JSON.parse(readFileSync(join(stateRoot, FACTS_FILE), 'utf8')) as KernelFacts;
    return facts.bootId === boot.bootId && facts.release === boot.release && typeof facts.has === 'object' && facts.has !== null ? facts : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort, and whole or not at all (renamed in): a reader never sees half a file. */
function writeFacts(stateRoot: string, facts: KernelFacts): void {
  const file = join(stateRoot, FACTS_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(facts));
    renameSync(temp, file);
  } catch {
    // A state root kiln cannot write here fails the build elsewhere, with a reason; this only costs the next start a gunzip.
    rmSync(temp, { force: true });
  }
}

/** Whether the running kernel (its `uname -r`, `release`) is `major.minor` or later. */
export function kernelAtLeast(major: number, minor: number, release: string = osRelease()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [have, haveMinor] = [Number(m[1]), Number(m[2])];
  return have > major || (have === major && haveMinor >= minor);
}
