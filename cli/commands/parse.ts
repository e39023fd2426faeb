import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { KilnError } from '../../common/errors.js';
import { dumpAst, parseDockerfile, parseDockerfileNodes } from '../../grammar/index.js';

function readDockerfile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new KilnError('E_DOCKERFILE_READ', `cannot read Dockerfile ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: file === 'Dockerfile' ? 'run kiln parse in the directory holding the Dockerfile, or give its path' : undefined,
    });
  }
}

export function register(program: Command): void {
  program
    .command('parse')
    .description("Parse a Dockerfile and print its AST (BuildKit's dump format, or typed JSON)")
    .argument('[file]', 'Dockerfile to parse, - for stdin', 'Dockerfile')
    .option('--json', 'print the typed AST with positions as JSON')
    .option('--raw', "stop at BuildKit's parser level (its dumper's behaviour): no instruction validation")
    .action((file: string, opts: { json?: boolean; raw?: boolean }) => {
      const text = readDockerfile(file);
      const result = opts.raw ? parseDockerfileNodes(text, { file }) : parseDockerfile(text, { file });
      for (const w of result.warnings) {
        process.stderr.write(`${w.file}:${w.position.line}:${w.position.column}: warning: ${w.message} [${w.code}]\n`);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : dumpAst(result));
    });
}
