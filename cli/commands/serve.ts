import type { Command } from 'commander';
import { KilnError } from '../../common/errors.js';
import { collect, globalOptions } from '../options.js';

interface ServeFlags {
  host?: string[];
  group?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  insecureTcp?: boolean;
  allowInsecureEntitlement?: string[];
  logFormat: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the kiln daemon: a Docker Engine API subset the docker CLI can use (DOCKER_HOST=unix://...)')
    .option('-H, --host <addr>', 'unix:///path or tcp://HOST:PORT to listen on (repeatable; default unix:///run/kiln/kiln.sock)', collect)
    .option('--group <name>', 'group owning the UNIX sockets (default: kiln if that group exists, else root)')
    .option('--tlscacert <file>', 'CA that client certificates must be signed by (TCP)')
    .option('--tlscert <file>', 'server certificate (TCP)')
    .option('--tlskey <file>', 'server key (TCP)')
    .option('--insecure-tcp', 'allow TCP without TLS client verification (anyone who can connect controls the host)')
    .option('--allow-insecure-entitlement <name>', 'let clients build with --allow NAME; only security.insecure exists (repeatable)', collect)
    .option('--log-format <format>', 'json or text', 'text')
    .action(async (flags: ServeFlags, cmd: Command) => {
      const { root } = globalOptions(cmd);
      if (flags.logFormat !== 'json' && flags.logFormat !== 'text') throw new KilnError('E_USAGE', `unknown --log-format "${flags.logFormat}"`, { hint: 'use json or text' });
      const tlsGiven = [flags.tlscacert, flags.tlscert, flags.tlskey].filter((f) => f !== undefined).length;
      if (tlsGiven !== 0 && tlsGiven !== 3) throw new KilnError('E_USAGE', 'TLS needs all of --tlscacert, --tlscert and --tlskey');
      for (const e of flags.allowInsecureEntitlement ?? []) {
        if (e !== 'security.insecure') throw new KilnError('E_USAGE', `unknown entitlement "${e}"`, { hint: 'the only one is security.insecure' });
      }
      const { DEFAULT_SOCKET, startDaemon } = await import('../../daemon/index.js');
      const daemon = await startDaemon({
        root,
        hosts: flags.host ?? [`unix://${DEFAULT_SOCKET}`],
        ...(flags.group !== undefined ? { group: flags.group } : {}),
        ...(tlsGiven === 3 ? { tls: { ca: flags.tlscacert!, cert: flags.tlscert!, key: flags.tlskey! } } : {}),
        insecureTcp: Boolean(flags.insecureTcp),
        allowInsecure: (flags.allowInsecureEntitlement ?? []).length > 0,
        logFormat: flags.logFormat,
      });
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          void daemon.close().then(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}
