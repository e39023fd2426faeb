import { readFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
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

/** Whether the kernel was built with `option`: true or false when its configuration says, else undefined. */
export function kernelHas(option: string): boolean | undefined {
  if (answers.has(option)) return answers.get(option);
  const text = kernelConfig();
  // A plain search: a multi-line RegExp over the whole config costs milliseconds.
  const at = text === null ? undefined : `\n${text}`;
  const answer = at === undefined ? undefined : at.includes(`\n${option}=y\n`) || at.includes(`\n${option}=m\n`);
  answers.set(option, answer);
  return answer;
}

/** Whether the running kernel (its `uname -r`, `release`) is `major.minor` or later. */
export function kernelAtLeast(major: number, minor: number, release: string = osRelease()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [have, haveMinor] = [Number(m[1]), Number(m[2])];
  return have > major || (have === major && haveMinor >= minor);
}
