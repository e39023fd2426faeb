import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Chevrotain, loaded from the package's single-file ESM bundle. The package entry pulls in
 * hundreds of modules (lodash-es among them) and costs ~0.6 s of CPU at start-up; the bundle
 * holds the same API for ~15 ms. The package's "exports" hides the bundle, so it is found
 * next to the resolved entry (`lib/src/api.js` -> `lib/chevrotain.min.mjs`). The CLI's bundle,
 * CommonJS without top-level await, holds that file in place of this module (cli/bundle.ts).
 */
const entry = createRequire(import.meta.url).resolve('chevrotain');
const bundle = join(dirname(entry), '..', 'chevrotain.min.mjs');
const chevrotain = (await import(pathToFileURL(bundle).href)) as typeof import('chevrotain');

export const { Lexer, EmbeddedActionsParser, createToken } = chevrotain;
// The classes' instance types, under the same names as the values above.
export type Lexer = import('chevrotain').Lexer;
export type { IToken, TokenType } from 'chevrotain';
