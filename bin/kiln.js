#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS KILN_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=4 --no-flush-bytecode --
// The `--` above: node reads --env-file anywhere on its command line, even after the script
// (nodejs/node#54232), and dies on a missing file before kiln starts: `kiln run --env-file F`.
// --max-semi-space-size=4: walking a context of 10,000 files keeps enough alive to grow V8's young
// generation to its 16 MiB semi-spaces (48 MiB committed, never given back); capped at 4 MiB a
// cold `COPY .` of that context peaked at ~165 MB RSS instead of 180-210 MB, in the same time. It
// has to be a command-line flag: V8 sizes the heap before any script runs.
// --no-flush-bytecode: what the code cache needs (cli/code-cache.ts), given here rather than set
// by loading node:v8.
// CommonJS (bin/package.json): an ES module entry would start Node's ES module loader, ~6 ms of
// CPU that the bundle, CommonJS too, does not need.
// NODE_EXTRA_CA_CERTS: the #! line hides it from Node, which would otherwise build its whole TLS
// root store while starting (~40 ms, Node <= 22) for commands that never speak TLS. Put back
// here for the programs kiln runs; kiln's own connections add the file's certificates when they
// connect (common/extra-ca.ts).
const extraCa = process.env.KILN_EXTRA_CA_CERTS;
if (extraCa !== undefined) {
  delete process.env.KILN_EXTRA_CA_CERTS;
  if (extraCa !== '') process.env.NODE_EXTRA_CA_CERTS = extraCa;
}

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
