import type { Command } from 'commander';
import { globalOptions } from '../options.js';

interface EngineVersion {
  Version: string;
  ApiVersion: string;
  GoVersion: string;
  Os: string;
  Arch: string;
}

/**
 * `kiln version`, as `docker version`: this kiln, and with --host the daemon it is a client of,
 * which has to answer (a CI job's way to check that the daemon is up).
 */
export function register(program: Command): void {
  program
    .command('version')
    .description("Show kiln's version, and with --host the daemon's")
    .action(async (_opts: object, cmd: Command) => {
      const { host, tls } = globalOptions(cmd);
      const { hostPlatform } = await import('../../oci/index.js');
      const p = hostPlatform();
      const lines = ['Client:', ` Version:     ${program.version() ?? ''}`, ` Node.js:     ${process.version}`, ` OS/Arch:     ${p.os}/${p.architecture}`];
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        const v = await new client.DaemonClient({ host, tls }).json<EngineVersion>('GET', '/version');
        lines.push('Server:', ` Version:     ${v.Version}`, ` API version: ${v.ApiVersion}`, ` Node.js:     ${v.GoVersion.replace(/^node/, 'v')}`, ` OS/Arch:     ${v.Os}/${v.Arch}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
