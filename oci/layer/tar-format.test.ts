import test from 'ava';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { BLOCK, decodeHeaderBlock, decodePax, encodeHeader, type TarHeader } from './tar-format.js';
import { readTar } from './tar-reader.js';
import { LayerError } from './errors.js';

const header = (over: Partial<TarHeader>): TarHeader => ({
  name: 'f',
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  linkname: '',
  devmajor: 0,
  devminor: 0,
  xattrs: new Map(),
  ...over,
});

async function roundTrip(h: TarHeader): Promise<TarHeader> {
  const body = Buffer.alloc(h.size, 'q');
  const pad = Buffer.alloc((BLOCK - (h.size % BLOCK)) % BLOCK);
  const tar = Buffer.concat([encodeHeader(h), body, pad, Buffer.alloc(2 * BLOCK)]);
  const out: TarHeader[] = [];
  for await (const e of readTar(Readable.from([tar]))) out.push(e.header);
  if (out.length !== 1) throw new Error(`expected one entry, got ${out.length}`);
  return out[0]!;
}

test('ustar fields round trip, including mode 0 and set-id bits', async (t) => {
  for (const mode of [0, 0o4755, 0o1777, 0o600]) {
    const h = header({ mode, uid: 1000, gid: 100, mtime: 1_700_000_000, size: 3 });
    t.deepEqual(await roundTrip(h), h);
  }
});

test('what ustar cannot hold goes into PAX records and comes back: long and non-ASCII names, big ids, binary xattrs', async (t) => {
  const h = header({
    name: `${'a'.repeat(150)}/${'b'.repeat(120)}/ü ☃`,
    type: 'symlink',
    linkname: `../${'c'.repeat(200)}`,
    uid: 100_000_000,
    gid: 3_000_000,
    mtime: 1_700_000_000,
    xattrs: new Map([
      ['security.capability', Buffer.from([0, 0, 0, 2, 0x20, 0, 0xff, 0xfe, 0, 0x0a, 0x3d])],
      ['user.empty', Buffer.alloc(0)],
    ]),
  });
  t.deepEqual(await roundTrip(h), h);
});

test('GNU tar reads kiln PAX headers: long names, big uid and xattrs', (t) => {
  const h = header({ name: `${'d'.repeat(120)}/${'e'.repeat(130)}`, uid: 5_000_000, size: 0, xattrs: new Map([['user.k', Buffer.from('v')]]) });
  const tar = Buffer.concat([encodeHeader(h), Buffer.alloc(2 * BLOCK)]);
  const listing = execFileSync('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-tvvf', '-'], { input: tar }).toString();
  t.true(listing.includes(`${'d'.repeat(120)}/${'e'.repeat(130)}`), listing);
  t.regex(listing, /5000000\/0/);
});

test('a header with a bad checksum is E_LAYER_CORRUPT', (t) => {
  const block = encodeHeader(header({}));
  block[0] = 0x7a;
  const err = t.throws(() => decodeHeaderBlock(block), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_CORRUPT');
});

test('GNU base-256 numbers are read', (t) => {
  const block = encodeHeader(header({ size: 0 }));
  // size field: 0x80 marker then big-endian 9 GiB.
  block.fill(0, 124, 136);
  block[124] = 0x80;
  block.writeUIntBE(9 * 2 ** 30, 130, 6);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  t.is(decodeHeaderBlock(block).size, 9 * 2 ** 30);
});

test('malformed PAX records are refused', (t) => {
  t.throws(() => decodePax(Buffer.from('99 path=x\n')), { instanceOf: LayerError });
  t.throws(() => decodePax(Buffer.from('garbage')), { instanceOf: LayerError });
  t.deepEqual([...decodePax(Buffer.from('10 path=x\n'))], [['path', Buffer.from('x')]]);
});

test('oversized PAX headers are refused instead of buffered', async (t) => {
  const paxHeader = encodeHeader(header({ name: 'PaxHeader', size: 0 }));
  paxHeader[156] = 'x'.charCodeAt(0);
  paxHeader.write('00077777777\0', 124, 12, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : paxHeader[i]!;
  paxHeader.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const err = await t.throwsAsync(
    (async () => {
      for await (const _ of readTar(Readable.from([paxHeader]))) t.fail();
    })(),
    { instanceOf: LayerError },
  );
  t.is(err?.code, 'E_LAYER_CORRUPT');
});
