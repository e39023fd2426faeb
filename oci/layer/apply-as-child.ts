// Test support: applies a layer file in this process (run under another uid by hostile.test.ts)
// and reports `CODE message` on stdout; exit 3 for a LayerError, 0 on success.
import { createReadStream } from 'node:fs';
import { applyLayer, LayerError } from './index.js';

const [tarPath, target] = process.argv.slice(2) as [string, string];
try {
  await applyLayer(createReadStream(tarPath), target);
} catch (err) {
  if (!(err instanceof LayerError)) throw err;
  process.stdout.write(`${err.code} ${err.message}\n`);
  process.exitCode = 3;
}
