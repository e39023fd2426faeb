import { join } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../common/errors.js';
import type { ClientOptions } from '../../oci/index.js';
import { collect } from '../options.js';

/** The TLS flags pull, push and login share. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--insecure-registry <host>', 'reach this registry without TLS verification, or over plain HTTP (repeatable)', collect, [])
    .option('--ca-file <file>', 'PEM CA certificate to trust for the registry (also makes loopback registries use HTTPS)');
}

/** Client options from the flags and `ROOT/registries.json`. */
export async function registryOptions(cmd: Command, root: string): Promise<ClientOptions> {
  const o = cmd.opts() as { insecureRegistry: string[]; caFile?: string };
  const { readRegistriesConfig } = await import('../../oci/index.js');
  const registries = await readRegistriesConfig(join(root, 'registries.json'));
  const out: ClientOptions = { insecureRegistries: o.insecureRegistry, registries };
  if (o.caFile) out.caFile = o.caFile;
  return out;
}

/** On a daemon, how its registries are reached is the daemon's to say: the flags cannot apply. */
export function assertNoRegistryFlags(cmd: Command): void {
  const o = cmd.opts() as { insecureRegistry: string[]; caFile?: string };
  const given = o.insecureRegistry.length > 0 ? '--insecure-registry' : o.caFile ? '--ca-file' : undefined;
  if (given === undefined) return;
  throw new KilnError('E_USAGE', `${given} does not apply with --host: the daemon reaches the registry`, {
    hint: "set it in the daemon's STATE_ROOT/registries.json, or run without --host",
  });
}
