import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('logout')
    .description('Remove saved credentials for a registry')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .action(async (server: string | undefined) => {
      const { logout } = await import('../../oci/index.js');
      const r = await logout(server);
      process.stdout.write(r.removed ? `Removing login credentials for ${r.registry}\n` : `Not logged in to ${r.registry}\n`);
    });
}
