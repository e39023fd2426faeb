/**
 * Entry of the bundle (dist/bundle/start.cjs, which bin/kiln.js runs): the CLI, bundled as
 * CommonJS into main.cjs beside it, run with V8's code cache (code-cache.ts). Only the bundle
 * has a main.cjs; tsc's output of this file is not run.
 */
import { fileURLToPath } from 'node:url';
import { codeCacheFor, runCommonJs } from './code-cache.js';

runCommonJs(fileURLToPath(new URL('./main.cjs', import.meta.url)), codeCacheFor(process.argv.slice(2)));
