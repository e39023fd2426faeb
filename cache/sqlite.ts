import Database from 'better-sqlite3';
import { addonFile } from '../common/addon-file.js';

let addonPathFound: string | null | undefined;

/**
 * Where npm's install builds or downloads better-sqlite3's compiled addon. Given as
 * `nativeBinding`, it spares the `bindings` package, which probes a dozen paths and builds an
 * Error for its stack when a process opens its first database (~1.5 ms of every kiln start);
 * null when it is not there (a debug build, another layout), and then `bindings` looks as before.
 */
function addonPath(): string | null {
  if (addonPathFound === undefined) addonPathFound = addonFile('better-sqlite3', 'build/Release/better_sqlite3.node', 'better-sqlite3/package.json') ?? null;
  return addonPathFound;
}

/** A connection to the SQLite database at `path` (every kiln connection opens through here). */
export function openSqlite(path: string, options: Database.Options = {}): Database.Database {
  const nativeBinding = addonPath();
  return new Database(path, nativeBinding === null ? options : { ...options, nativeBinding });
}
