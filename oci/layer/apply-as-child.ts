// Test support: applies a layer file in this process (run under another uid, or in a user namespace,
// by hostile.test.ts), with `apply` (default) or `overlay` whiteouts, and reports `CODE message` on
// stdout; exit 3 for a LayerError, 0 on success.
import { createReadStream } from 'node:fs';
import { applyLayer, LayerError } from './index.js';

const [tarPath, target, whiteouts] = process.argv.slice(2) as [string, string, 'overlay' | 'apply' | undefined];
try {
  await applyLayer(createReadStream(tarPath), target, { whiteouts: whiteouts ?? 'apply' });
} catch (err) {
  if (!(err instanceof LayerError)) throw err;
  process.stdout.write(`${err.code} ${err.message}\n`);
  process.exitCode = 3;
}
