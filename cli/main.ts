import { Command, CommanderError } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { commands } from './commands/index.js';
import { daemonHost, globalOptions } from './options.js';
import { reportError } from './report-error.js';
import { reportProcessErrors } from './process-errors.js';
import { cleanUpOnSignals } from './signals.js';
import { conciseUsageErrors } from './usage-errors.js';

const debug = process.argv.includes('--debug');
reportProcessErrors(debug);
cleanUpOnSignals();
// Once nothing is left to do, exit: left to end by itself, Node frees its whole heap page by page
// first (~8 ms after a build, of no use to a process about to end). process.exit skips that and
// still runs 'exit' listeners; with the event loop empty there is no work it could cut short.
process.once('beforeExit', () => process.exit());

// From source (cli/main.ts, as the tests run it) package.json is one level up; from dist/cli/ it is two.
// stat, not existsSync: access(2) ignores the capabilities a process may read the checkout by.
const pkgUrl = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)].find((u) => statSync(u, { throwIfNoEntry: false }))!;
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
  .exitOverride();

for (const register of commands) register(program);
conciseUsageErrors(program);

/** Commands that touch neither the state root nor containers, so never need kiln's user namespace. */
const NO_NAMESPACE = new Set(['parse', 'login', 'logout', 'version']);

program.hook('preAction', async (_program, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  const host = daemonHost(action);
  // A client of a daemon, and a command in NO_NAMESPACE, touches no state root of its own.
  if (host !== undefined || NO_NAMESPACE.has(names[0]!)) return;
  // The process ends with the command: the index's WAL can be left for the next one to checkpoint.
  (await import('../cache/index.js')).leaveDbsToExit();
  // Rootless: an unprivileged user's kiln runs again as root of its own user namespace, where
  // layers keep their owners and containers can be started.
  if (process.geteuid?.() === 0) return;
  const { reexecRootless } = await import('../runtime/index.js');
  const code = await reexecRootless(globalOptions(action).root);
  if (code !== undefined) process.exit(code);
});

// Not a top-level await: the bundle bin/kiln.js runs is CommonJS, which has none.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.exitCode = reportError(err, debug);
  }
});
