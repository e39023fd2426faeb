#!/usr/bin/env -S node --
// The `--` above: node reads --env-file anywhere on its command line, even after the script
// (nodejs/node#54232), and dies on a missing file before kiln starts: `kiln run --env-file F`.
// CommonJS (bin/package.json): an ES module entry would start Node's ES module loader, ~6 ms of
// CPU that the bundle, CommonJS too, does not need.
const { statSync } = require('node:fs');
const { join } = require('node:path');

// Node 22+ keeps compiled code of modules between runs (tsc's output, below); the bundle keeps
// its own (dist/bundle/start.cjs), which Node 20 could not.
require('node:module').enableCompileCache?.();

// The bundle (npm run build) loads several times fewer files than tsc's output. A bundle older
// than tsc's output is stale (`tsc` alone was run since), so the modules win then.
const mtime = (rel) => statSync(join(__dirname, rel), { throwIfNoEntry: false })?.mtimeMs ?? -1;
if (mtime('../dist/bundle/main.cjs') >= mtime('../dist/cli/main.js')) require('../dist/bundle/start.cjs');
else import('../dist/cli/main.js');
