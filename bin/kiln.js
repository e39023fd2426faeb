#!/usr/bin/env -S node --
import { statSync } from 'node:fs';
import module from 'node:module';

// The `--` above: node reads --env-file anywhere on its command line, even after the script
// (nodejs/node#54232), and dies on a missing file before kiln starts: `kiln run --env-file F`.

// Node 22+ keeps compiled code between runs (a no-op build is mostly start-up); Node 20 has no cache.
module.enableCompileCache?.();

// The bundle (npm run build) loads several times fewer files than tsc's output. A bundle older
// than tsc's output is stale (`tsc` alone was run since), so the modules win then.
const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = mtime('../dist/bundle/main.js') >= mtime('../dist/cli/main.js');
await import(bundled ? '../dist/bundle/main.js' : '../dist/cli/main.js');
