/**
 * Node built-ins that most kiln commands never use (a no-op build starts no thread, compresses
 * nothing, talks TLS to no one), loaded on first use: imported at the top of a module the CLI
 * loads, each cost every start 1-2 ms.
 */
export const workerThreads = (): typeof import('node:worker_threads') => process.getBuiltinModule('node:worker_threads');
export const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');
export const tls = (): typeof import('node:tls') => process.getBuiltinModule('node:tls');
export const v8 = (): typeof import('node:v8') => process.getBuiltinModule('node:v8');
export const readlinePromises = (): typeof import('node:readline/promises') => process.getBuiltinModule('node:readline/promises');
