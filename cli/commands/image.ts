import type { Command } from 'commander';
import { register as registerRmi } from './rmi.js';

/** `kiln image rm` (docker's `docker image rm`): the same command as `kiln rmi`. */
export function register(program: Command): void {
  const group = program.command('image').description('Manage images');
  registerRmi(group);
  group.commands.find((c) => c.name() === 'rmi')?.name('rm');
}
