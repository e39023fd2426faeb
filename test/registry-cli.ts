/** Test helper: runs the kiln CLI from source, as a user would, capturing its output. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectOutput, type ProcessResult } from './process-output.js';

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.ts');

export type CliResult = ProcessResult;

export function kiln(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return collectOutput(process.execPath, ['--import', import.meta.resolve('tsx'), cliPath, ...args], { env: { ...process.env, ...options.env } }, options.input ?? '');
}
