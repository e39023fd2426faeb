import type { Command } from 'commander';
import { register as build } from './build.js';
import { register as history } from './history.js';
import { register as importCmd } from './import.js';
import { register as images } from './images.js';
import { register as inspect } from './inspect.js';
import { register as load } from './load.js';
import { register as pull } from './pull.js';
import { register as push } from './push.js';
import { register as rmi } from './rmi.js';
import { register as save } from './save.js';
import { register as tag } from './tag.js';

/**
 * `kiln image ...`, docker's management commands for images: the same commands as the top-level
 * ones (`image ls` is `images`, `image rm` is `rmi`). docker's `image prune` removes images, which
 * kiln's prune never does, so there is none.
 */
export function register(program: Command): void {
  const group = program.command('image').description('Manage images (the same commands as build, images, rmi, inspect, ...)');
  for (const add of [build, history, importCmd, images, inspect, load, pull, push, rmi, save, tag]) add(group);
  group.commands.find((c) => c.name() === 'images')?.name('ls').alias('list');
  group.commands.find((c) => c.name() === 'rmi')?.name('rm').alias('remove');
}
