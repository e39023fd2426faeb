import { LayerError } from './errors.js';

/**
 * The tar header encoding kiln reads and writes: POSIX ustar plus PAX extended headers, and
 * GNU long names when reading. Written by hand rather than with tar-stream because layers carry
 * binary PAX values (`SCHILY.xattr.security.capability`) and mode-0 files, which tar-stream's
 * string-only PAX records and mode defaulting would corrupt.
 */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** Path inside the layer, `/`-separated, no leading `./`; directories end with `/` when written. */
  name: string;
  type: TarEntryType;
  /** Permission bits only (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink target, or the path a hard link points to. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.*` PAX records, values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

export const BLOCK = 512;
const XATTR_PREFIX = 'SCHILY.xattr.';
/** A PAX or GNU long-name header larger than this is refused rather than buffered. */
const MAX_META_SIZE = 1024 * 1024;

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export function paddingFor(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** Splits a path into ustar prefix (<=155) and name (<=100), or returns undefined if it cannot be. */
function splitUstarName(path: string): { prefix: string; name: string } | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= 100) return { prefix: '', name: path };
  // Split at a `/` so that name fits in 100 and prefix in 155.
  for (let i = path.length - 101; i < path.length; i++) {
    if (i < 0 || path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
  }
  return undefined;
}

function writeString(block: Buffer, value: string, offset: number, length: number): void {
  block.write(value, offset, length, 'utf8');
}

function fitsOctal(value: number, width: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 8 ** (width - 1);
}

function writeOctal(block: Buffer, value: number, offset: number, width: number): void {
  // Values that do not fit go into PAX records; the ustar field then holds 0.
  const v = fitsOctal(value, width) ? value : 0;
  block.write(v.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
  block[offset + width - 1] = 0;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function ustarBlock(h: { name: string; prefix: string; type: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string; devmajor: number; devminor: number }): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, h.name, 0, 100);
  writeOctal(block, h.mode, 100, 8);
  writeOctal(block, h.uid, 108, 8);
  writeOctal(block, h.gid, 116, 8);
  writeOctal(block, h.size, 124, 12);
  writeOctal(block, h.mtime, 136, 12);
  block.write(h.type, 156, 1, 'ascii');
  writeString(block, h.linkname, 157, 100);
  block.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(block, h.devmajor, 329, 8);
  writeOctal(block, h.devminor, 337, 8);
  writeString(block, h.prefix, 345, 155);
  const sum = checksum(block);
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "LEN key=value\n" where LEN counts itself, so grow LEN's digit count until it is stable.
  const body = Buffer.byteLength(key) + value.length + 3; // space, '=', newline
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

/** The header block(s) for one entry: a PAX extended header first when ustar cannot hold it all. */
export function encodeHeader(h: TarHeader): Buffer {
  const pax = new Map<string, Buffer>();
  const name = h.type === 'dir' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  let split = splitUstarName(name);
  if (!split) {
    pax.set('path', Buffer.from(name, 'utf8'));
    split = { prefix: '', name: name.replace(/[^\x01-\x7f]/g, '_').slice(0, 100) };
  }
  let linkname = h.linkname;
  if (!isAscii(linkname) || linkname.length > 100) {
    pax.set('linkpath', Buffer.from(linkname, 'utf8'));
    linkname = linkname.replace(/[^\x01-\x7f]/g, '_').slice(0, 100);
  }
  if (!fitsOctal(h.uid, 8)) pax.set('uid', Buffer.from(String(h.uid)));
  if (!fitsOctal(h.gid, 8)) pax.set('gid', Buffer.from(String(h.gid)));
  if (!fitsOctal(h.size, 12)) pax.set('size', Buffer.from(String(h.size)));
  if (!fitsOctal(h.mtime, 12)) pax.set('mtime', Buffer.from(String(h.mtime)));
  for (const [key, value] of h.xattrs) pax.set(XATTR_PREFIX + key, value);

  const main = ustarBlock({ ...h, ...split, type: TYPEFLAG[h.type], linkname });
  if (pax.size === 0) return main;

  const keys = [...pax.keys()].sort();
  const data = Buffer.concat(keys.map((k) => paxRecord(k, pax.get(k)!)));
  const paxHeader = ustarBlock({
    name: 'PaxHeaders.0/entry',
    prefix: '',
    type: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: fitsOctal(h.mtime, 12) ? h.mtime : 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(paddingFor(data.length)), main]);
}

/** One raw header block, before PAX / GNU long-name records are applied. */
export interface RawHeader {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number, field: string): number {
  const raw = block.subarray(offset, offset + length);
  if (raw[0]! & 0x80) {
    // GNU base-256: big-endian binary after the marker bit; negative values are never valid here.
    if (raw[0] === 0xff) throw corrupt(`negative ${field} in tar header`);
    let v = raw[0]! & 0x7f;
    for (let i = 1; i < raw.length; i++) v = v * 256 + raw[i]!;
    if (!Number.isSafeInteger(v)) throw corrupt(`${field} out of range in tar header`);
    return v;
  }
  const text = raw.toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`invalid ${field} "${text}" in tar header`);
  return parseInt(text, 8);
}

function corrupt(message: string): LayerError {
  return new LayerError('E_LAYER_CORRUPT', `layer tar is corrupt: ${message}`, {
    hint: 'the layer blob is damaged or not a tar archive; re-pull or rebuild it',
  });
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses one 512-byte header block; throws LayerError on a bad checksum or field. */
export function decodeHeaderBlock(block: Buffer): RawHeader {
  const stored = readNumber(block, 148, 8, 'checksum');
  const unsigned = checksum(block);
  // Some old tars summed signed bytes; accept either.
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) signed += i >= 148 && i < 156 ? 0x20 : (block[i]! << 24) >> 24;
  if (stored !== unsigned && stored !== signed) throw corrupt('header checksum mismatch');

  let name = readString(block, 0, 100);
  const magic = block.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\0') {
    const prefix = readString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    typeflag: block[156] === 0 ? '0' : String.fromCharCode(block[156]!),
    mode: readNumber(block, 100, 8, 'mode'),
    uid: readNumber(block, 108, 8, 'uid'),
    gid: readNumber(block, 116, 8, 'gid'),
    size: readNumber(block, 124, 12, 'size'),
    mtime: readNumber(block, 136, 12, 'mtime'),
    linkname: readString(block, 157, 100),
    devmajor: readNumber(block, 329, 8, 'devmajor'),
    devminor: readNumber(block, 337, 8, 'devminor'),
  };
}

export function checkMetaSize(size: number): void {
  if (size > MAX_META_SIZE) throw corrupt(`extended header of ${size} bytes is larger than the ${MAX_META_SIZE}-byte limit`);
}

/** Parses PAX records into key -> raw value bytes (values may be binary, e.g. capabilities). */
export function decodePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw corrupt('malformed PAX record');
    const len = Number(data.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw corrupt('malformed PAX record length');
    }
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw corrupt('malformed PAX record');
    records.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return records;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Combines a raw header with pending PAX records and GNU long names into the entry's header. */
export function resolveHeader(raw: RawHeader, pax: Map<string, Buffer>, longName: string | undefined, longLink: string | undefined): TarHeader {
  let type = TYPES[raw.typeflag];
  if (type === undefined) {
    throw new LayerError('E_LAYER_UNSUPPORTED', `layer tar entry "${raw.name}" has unsupported type '${raw.typeflag}'`, {
      hint: 'kiln extracts regular files, directories, links, devices and fifos only',
    });
  }
  let name = longName ?? raw.name;
  let linkname = longLink ?? raw.linkname;
  let { uid, gid, size, mtime } = raw;
  const xattrs = new Map<string, Buffer>();
  const num = (key: string, fallback: number): number => {
    const v = pax.get(key);
    if (v === undefined) return fallback;
    // PAX mtimes may carry a fraction; layers only keep whole seconds.
    const n = Math.floor(Number(v.toString('latin1')));
    if (!Number.isSafeInteger(n) || n < 0) throw corrupt(`invalid PAX ${key}`);
    return n;
  };
  if (pax.has('path')) name = pax.get('path')!.toString('utf8');
  if (pax.has('linkpath')) linkname = pax.get('linkpath')!.toString('utf8');
  uid = num('uid', uid);
  gid = num('gid', gid);
  size = num('size', size);
  mtime = num('mtime', mtime);
  for (const [key, value] of pax) {
    if (key.startsWith(XATTR_PREFIX)) xattrs.set(key.slice(XATTR_PREFIX.length), value);
  }
  if (type === 'file' && name.endsWith('/')) type = 'dir';
  // Links, devices, directories and fifos carry no data even if a header claims a size (as in Go's archive/tar).
  if (type !== 'file') size = 0;
  return { name, type, mode: raw.mode & 0o7777, uid, gid, size, mtime, linkname, devmajor: raw.devmajor, devminor: raw.devminor, xattrs };
}
