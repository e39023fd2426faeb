import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { commands } from './commands/index.js';
import { reportError } from './report-error.js';

// From source (cli/main.ts, as the tests run it) package.json is one level up; from dist/cli/ it is two.
const pkgUrl = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)].find((u) => existsSync(u))!;
const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string };

const program = new Command('kiln')
  .description('Build, run, push and export container images from Dockerfiles')
  .version(pkg.version, '-v, --version')
  .option('--root <dir>', 'state root (env KILN_ROOT; default /var/lib/kiln as root)')
  .option('--debug', 'print stack traces for every error')
  // As docker: global options go before the command, so `kiln run -v ...` is run's own -v.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.exitCode = reportError(err, process.argv.includes('--debug'));
  }
}
