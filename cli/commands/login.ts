import type { Command } from 'commander';
import { KilnError } from '../../common/errors.js';
import { globalOptions } from '../options.js';
import { addRegistryFlags, assertNoRegistryFlags, registryOptions } from './registry-flags.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk.toString();
  return text.replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  const cmd = program
    .command('login')
    .description('Log in to a registry (saved in the docker config file, as docker does)')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin');
  addRegistryFlags(cmd).action(async (server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }) => {
    if (!o.username) throw new KilnError('E_LOGIN_USAGE', 'a user name is needed', { hint: 'pass -u USER' });
    if (o.password !== undefined && o.passwordStdin) throw new KilnError('E_LOGIN_USAGE', '--password and --password-stdin are mutually exclusive');
    const password = o.passwordStdin ? await readStdin() : o.password;
    if (!password) throw new KilnError('E_LOGIN_USAGE', 'a password is needed', { hint: 'pipe it to --password-stdin' });
    if (o.password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    const { root, host, tls } = globalOptions(cmd);
    let savedTo: string;
    if (host !== undefined) {
      // As docker: the daemon, which is what talks to the registry, checks them; the client keeps them.
      assertNoRegistryFlags(cmd);
      const { loginRegistry, storeCredentials } = await import('../../oci/index.js');
      const client = await import('../../client/index.js');
      const registry = loginRegistry(server);
      await client.verifyLogin(new client.DaemonClient({ host, tls }), registry, o.username, password);
      savedTo = await storeCredentials(registry, o.username, password);
    } else {
      const options = await registryOptions(cmd, root);
      const { login } = await import('../../oci/index.js');
      savedTo = (await login(server, { ...options, username: o.username, password })).savedTo;
    }
    process.stdout.write(`Login Succeeded (credentials saved in ${savedTo})\n`);
  });
}
