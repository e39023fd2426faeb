import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Store } from '../../cache/index.js';
import { parseDockerfile, type CheckDirective, type ParseResult } from '../../grammar/index.js';

declare global {
  interface ImportMeta {
    /** True in the bundle, whose one file holds all of kiln's code (cli/bundle.ts defines it). */
    kilnBundle?: boolean;
  }
}

/** Parses kept at most this big (a Dockerfile of some 100 KB), so the store's few hundred stay small. */
const MAX_REMEMBERED = 1 << 20;

/**
 * Taken when this module loads with the rest of the solver (a daemon: when it starts), not at the
 * first parse: a process that outlives a new build of kiln must not store its old parser's
 * results under the new bundle's identity.
 */
const loadedBundle = import.meta.kilnBundle ? fileIdentity(fileURLToPath(import.meta.url)) : undefined;

function fileIdentity(path: string): string | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st && `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * parseDockerfile, remembered in the store. Chevrotain builds its lexer and analyses its parser
 * before a process's first parse: 12-20 ms of a build's start on these machines, against under
 * 1 ms to read the same result back as JSON. The key names the text, the file name that messages
 * carry, the check options given in place of the directive, and the code that parsed it (`code`: by default the bundle file's identity, which every
 * build of kiln replaces). tsc's output spreads the parser over dozens of files, so without the
 * bundle nothing is remembered. A Dockerfile that fails to parse is not remembered: it fails
 * again the same way. A miss returns the stored form too, so a build sees the same objects
 * whether the parse was remembered or not.
 */
export function parseRemembered(store: Store, text: string, options: { file: string; check?: CheckDirective }, code: string | undefined = loadedBundle): ParseResult {
  if (code === undefined) return parseDockerfile(text, options);
  const key = parseKey(code, options, text);
  const known = store.getParsedDockerfile(key);
  if (known !== undefined) return JSON.parse(known) as ParseResult;
  const json = JSON.stringify(parseDockerfile(text, options));
  if (json.length <= MAX_REMEMBERED) {
    try {
      store.putParsedDockerfile(key, json);
    } catch {
      // Only a shortcut: a store that cannot take it now (a full disk) fails the build where it must write.
    }
  }
  return JSON.parse(json) as ParseResult;
}

/** Where the store keeps the parse of `text` with `options` (file name, check options) by the parser `code`. */
export function parseKey(code: string, options: { file: string; check?: CheckDirective }, text: string): string {
  return createHash('sha256').update(JSON.stringify([code, options.file, options.check ?? null, text])).digest('hex');
}
