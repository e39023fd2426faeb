import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Store } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { systemReason } from '../../common/file-errors.js';
import type { ContainerConfig } from '../../oci/index.js';
import { globalOptions } from '../options.js';
import { parseRunArgs, RUN_HELP, type RunRequest } from './run-flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('Run a command in a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('[args...]')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption('--help', 'display help for command')
    .addHelpText('after', RUN_HELP)
    .action(async (args: string[]) => {
      const { root, host, tls } = globalOptions(cmd);
      if (host !== undefined) {
        const { runOnDaemon } = await import('./run-remote.js');
        process.exitCode = await runOnDaemon(await parseRunArgs(args), host, tls);
        return;
      }
      const { checkPrivileges } = await import('../../runtime/index.js');
      checkPrivileges();
      process.exitCode = await runContainer(root, await parseRunArgs(args));
    });
}

async function runContainer(root: string, r: RunRequest): Promise<number> {
  const { createSnapshot, exec, listContainers, parseCapabilities, resolveRunProcess } = await import('../../runtime/index.js');
  const capAdd = parseCapabilities(r.capAdd);
  if (r.name !== undefined && (await listContainers(root)).some((c) => c.name === r.name)) {
    throw new KilnError('E_RUN_NAME_IN_USE', `the container name "${r.name}" is already in use`, { hint: 'choose another --name or stop that container' });
  }
  // As docker does for -v: a host path that is not there is made, as a directory; a file binds as it is.
  for (const m of r.volumes) {
    if (m.type !== 'bind' || existsSync(m.source)) continue;
    await mkdir(m.source, { recursive: true }).catch((cause: unknown) => {
      throw new KilnError('E_RUN_VOLUME', `cannot make volume source ${m.source}: ${systemReason(cause)}`, { cause, hint: 'bind-mount an existing path, or one kiln may create' });
    });
  }

  let store: Store | undefined;
  try {
    let lowerDirs: string[];
    let config: ContainerConfig = {};
    if (r.rootfs) {
      lowerDirs = [resolve(r.image)];
    } else {
      const { openStore } = await import('../../cache/index.js');
      store = await openStore(root);
      const resolved = await store.resolveImage(r.image);
      config = resolved.config.config ?? {};
      lowerDirs = [];
      for (const layer of resolved.layers) lowerDirs.push(await store.layerDir(layer));
    }
    // Docker uses the short container id; any fresh 12-hex name serves the same purpose.
    const hostname = r.hostname ?? randomBytes(6).toString('hex');
    const snapshot = await createSnapshot({ stateRoot: root, lowerDirs, container: true });
    try {
      const proc = resolveRunProcess(config, {
        entrypoint: r.entrypoint,
        command: r.command,
        env: r.env,
        workdir: r.workdir,
        user: r.user,
        hostname,
      });
      const result = await exec({
        stateRoot: root,
        rootfs: snapshot.rootfs,
        args: proc.args,
        env: proc.env,
        cwd: proc.cwd,
        user: proc.user,
        hostname,
        network: r.network,
        mounts: r.volumes,
        stdin: r.interactive ? 'inherit' : 'ignore',
        tty: r.tty,
        capAdd,
        stdout: 'inherit',
        stderr: 'inherit',
        forwardSignals: true,
        stopGraceMs: r.stopTimeoutSeconds * 1000,
        name: r.name,
        image: r.image,
      });
      return result.exitCode;
    } finally {
      await snapshot.release();
    }
  } finally {
    store?.close();
  }
}
