import { readFileSync } from 'node:fs';
import { tls } from './builtins.js';

/**
 * The CA certificates kiln's TLS connections trust when given no CA of their own: Node's bundled
 * roots and the PEM file named by NODE_EXTRA_CA_CERTS, the same list Node itself would use.
 * undefined when that variable names no file: Node's default is then the right one.
 *
 * Why kiln lists them itself: Node up to 22 reads NODE_EXTRA_CA_CERTS while it starts, building
 * its whole root store whether or not the process ever speaks TLS, ~40 ms of every kiln command
 * on a machine that sets it (CI images often do). So bin/kiln.js's #! line starts Node without
 * the variable, hands its value on in KILN_EXTRA_CA_CERTS and puts it back into process.env, and
 * the connections that need the list (registries, ADD of a URL, a daemon over TLS) get it here.
 */
export function defaultCaCertificates(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  const known = loaded.get(file);
  if (known) return known.list;
  let list: string[] | undefined;
  try {
    list = [...tls().rootCertificates, readFileSync(file, 'utf8')];
  } catch (e) {
    // Node's own reaction to an unreadable file: a warning, and its bundled roots alone.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
  }
  loaded.set(file, { list });
  return list;
}

/** Read once per file: a registry push opens several connections, each would read it again. */
const loaded = new Map<string, { list: string[] | undefined }>();
