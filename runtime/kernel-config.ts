import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

let config: string | null | undefined;

/** The running kernel's build configuration, from /boot or /proc/config.gz; null when neither is there. */
function kernelConfig(): string | null {
  if (config !== undefined) return config;
  config = null;
  try {
    config = readFileSync(`/boot/config-${release()}`, 'utf8');
  } catch {
    try {
      config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    } catch {
      // Neither file: the kernel's options cannot be known.
    }
  }
  return config;
}

/** Whether the kernel was built with `option`: true or false when its configuration says, else undefined. */
export function kernelHas(option: string): boolean | undefined {
  const text = kernelConfig();
  if (text === null) return undefined;
  // A plain search: a multi-line RegExp over the whole config costs milliseconds at every start.
  const at = `\n${text}`;
  return at.includes(`\n${option}=y\n`) || at.includes(`\n${option}=m\n`);
}
