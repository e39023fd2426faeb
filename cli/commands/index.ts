import type { Command } from 'commander';
import { register as login } from './login.js';
import { register as logout } from './logout.js';
import { register as pull } from './pull.js';
import { register as push } from './push.js';

/** Each command lives in its own module and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [pull, push, login, logout];
