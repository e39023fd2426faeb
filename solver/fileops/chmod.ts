import { FileOpError } from './errors.js';

/** Computes a copied entry's new permission bits from its current ones. */
export type ModeChange = (mode: number, isDir: boolean) => number;

const CLAUSE = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/;
const OP = /([-+=])([ugo]|[rwxXst]*)/g;

/**
 * Parses `--chmod`: octal (`755`, `0644`, `4755`) or chmod(1)'s symbolic form (`u+x`, `a=r`,
 * `go-w,u=rwX`, `go=u-w`: a class letter after the operator copies that class's current bits),
 * which newer BuildKit accepts. Without a who-letter a clause applies to all,
 * with no umask, as BuildKit does.
 */
export function parseChmod(spec: string): ModeChange {
  // BuildKit: strconv.ParseUint(spec, 8, 32), at most 07777; leading zeros are fine (`00644`).
  if (/^[0-7]+$/.test(spec) && parseInt(spec, 8) <= 0o7777) {
    const abs = parseInt(spec, 8);
    return () => abs;
  }
  const clauses = spec.split(',').map((c) => {
    const m = CLAUSE.exec(c);
    if (!m) {
      throw new FileOpError('E_COPY_CHMOD', `invalid --chmod value "${spec}"`, {
        hint: 'use octal (e.g. 755) or symbolic modes like u+x, go-w, a=rX',
      });
    }
    const who = m[1] === '' || m[1]!.includes('a') ? 'ugo' : m[1]!;
    const ops = [...m[2]!.matchAll(OP)].map((o) => ({ op: o[1]!, perms: o[2]! }));
    return { who, ops };
  });
  return (mode, isDir) => {
    let out = mode & 0o7777;
    for (const { who, ops } of clauses) {
      for (const { op, perms } of ops) {
        const bits = permBits(who, perms, out, isDir);
        if (op === '+') out |= bits;
        else if (op === '-') out &= ~bits;
        else out = (out & ~whoMask(who)) | bits;
      }
    }
    return out;
  };
}

function whoMask(who: string): number {
  let m = 0;
  if (who.includes('u')) m |= 0o4700;
  if (who.includes('g')) m |= 0o2070;
  if (who.includes('o')) m |= 0o1007;
  return m;
}

function permBits(who: string, perms: string, current: number, isDir: boolean): number {
  const from = { u: 6, g: 3, o: 0 }[perms];
  if (from !== undefined) return spread(who, (current >> from) & 7);
  let rwx = 0;
  if (perms.includes('r')) rwx |= 4;
  if (perms.includes('w')) rwx |= 2;
  if (perms.includes('x') || (perms.includes('X') && (isDir || (current & 0o111) !== 0))) rwx |= 1;
  let bits = spread(who, rwx);
  if (perms.includes('s')) {
    if (who.includes('u')) bits |= 0o4000;
    if (who.includes('g')) bits |= 0o2000;
  }
  if (perms.includes('t') && who.includes('o')) bits |= 0o1000;
  return bits;
}

/** `rwx` (0-7) as the permission bits of each class in `who`. */
function spread(who: string, rwx: number): number {
  let bits = 0;
  if (who.includes('u')) bits |= rwx << 6;
  if (who.includes('g')) bits |= rwx << 3;
  if (who.includes('o')) bits |= rwx;
  return bits;
}
