import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { commands } from './commands/index.js';
import { daemonHost } from './options.js';
import { reportError } from './report-error.js';

// From source (cli/main.ts, as the tests run it) package.json is one level up; from dist/cli/ it is two.
const pkgUrl = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)].find((u) => existsSync(u))!;
const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string };

const program = new Command('kiln')
  .description('Build, run, push and export container images from Dockerfiles')
  .version(pkg.version, '-v, --version')
  .option('--root <dir>', 'state root (env KILN_ROOT; default /var/lib/kiln as root)')
  .option('--debug', 'print stack traces for every error')
  .option('-H, --host <url>', 'be a client of the kiln daemon at unix:///PATH or tcp://HOST:PORT (env KILN_HOST; default: no daemon)')
  .option('--tlscacert <file>', 'trust only daemons with certificates signed by this CA (with --host tcp://)')
  .option('--tlscert <file>', 'client certificate for a TLS daemon')
  .option('--tlskey <file>', 'client key for a TLS daemon')
  // As docker: global options go before the command, so `kiln run -v ...` is run's own -v.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

// A command that cannot run on a daemon yet must say so rather than quietly run embedded.
program.hook('preAction', async (_program, action) => {
  const host = daemonHost(action);
  if (host === undefined) return;
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  const { assertRemoteSupported } = await import('../client/index.js');
  assertRemoteSupported(names.join(' '), host);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.exitCode = reportError(err, process.argv.includes('--debug'));
  }
}
