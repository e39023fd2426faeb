/**
 * The variables a word is expanded against: a Map or a plain record. Names are matched
 * case-sensitively, as BuildKit does on Linux.
 */
export type ShellEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

function isMap(env: ShellEnv): env is ReadonlyMap<string, string> {
  return env instanceof Map || typeof (env as ReadonlyMap<string, string>).get === 'function';
}

/** The value of `name`, or undefined when it is not set (an empty string is set). */
export function lookupEnv(env: ShellEnv, name: string): string | undefined {
  if (isMap(env)) return env.get(name);
  // Own properties only: `constructor` or `__proto__` must not count as set variables.
  if (!Object.prototype.hasOwnProperty.call(env, name)) return undefined;
  const value = (env as Readonly<Record<string, unknown>>)[name];
  return typeof value === 'string' ? value : undefined;
}
