import type { Command } from 'commander';
import { register as login } from './login.js';
import { register as logout } from './logout.js';
import { register as pull } from './pull.js';
import { register as push } from './push.js';
import { register as run } from './run.js';
import { register as ps } from './ps.js';
import { register as images } from './images.js';
import { register as tag } from './tag.js';
import { register as rmi } from './rmi.js';
import { register as inspect } from './inspect.js';
import { register as history } from './history.js';
import { register as save } from './save.js';
import { register as load } from './load.js';
import { register as importCmd } from './import.js';
import { register as parse } from './parse.js';
import { register as build } from './build.js';
import { register as image } from './image.js';
import { register as prune } from './prune.js';
import { register as du } from './du.js';
import { register as check } from './check.js';
import { register as serve } from './serve.js';
import { register as version } from './version.js';

/** Each command lives in its own module and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [parse, build, image, images, tag, rmi, inspect, history, save, load, importCmd, pull, push, login, logout, run, ps, prune, du, check, serve, version];
