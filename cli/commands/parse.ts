import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { DockerfileError, KilnError } from '../../common/errors.js';
import { systemReason } from '../../common/file-errors.js';
import type { Warning } from '../../grammar/index.js';

function readDockerfile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new KilnError('E_DOCKERFILE_READ', `cannot read Dockerfile ${file}: ${systemReason(err)}`, {
      cause: err,
      hint: file === 'Dockerfile' ? 'run kiln parse in the directory holding the Dockerfile, or give its path' : undefined,
    });
  }
}

function printWarning(w: Pick<Warning, 'file' | 'position' | 'message'>, code: string): void {
  process.stderr.write(`${w.file}:${w.position.line}:${w.position.column}: warning: ${w.message} [${code}]\n`);
}

export function register(program: Command): void {
  program
    .command('parse')
    .description("Parse a Dockerfile and print its AST (BuildKit's dump format, or typed JSON)")
    .argument('[file]', 'Dockerfile to parse, - for stdin', 'Dockerfile')
    .option('--check', 'fail, as kiln build would, on instructions that do not validate (flags, arguments, mounts)')
    .option('--json', 'print the typed AST with positions as JSON (implies --check)')
    .action(async (file: string, opts: { json?: boolean; check?: boolean }) => {
      const text = readDockerfile(file);
      const { dumpAst, parseDockerfile, parseDockerfileNodes } = await import('../../grammar/index.js');
      if (opts.check || opts.json) {
        const result = parseDockerfile(text, { file });
        for (const w of result.warnings) printWarning(w, w.code);
        process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : dumpAst(result));
        return;
      }
      // The dump is what BuildKit's parser produces, so a file its parser accepts dumps here too;
      // what only a build would reject is reported as a warning.
      const nodes = parseDockerfileNodes(text, { file });
      try {
        for (const w of parseDockerfile(text, { file }).warnings) printWarning(w, w.code);
      } catch (err) {
        if (!(err instanceof DockerfileError)) throw err;
        for (const w of nodes.warnings) printWarning(w, w.code);
        printWarning({ file, position: err.position, message: `${err.message} (kiln build would reject this; --check makes it an error)` }, err.code);
      }
      process.stdout.write(dumpAst(nodes));
    });
}
