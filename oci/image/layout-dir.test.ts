import test from 'ava';
import { parseLayoutRef } from './layout-dir.js';

const D = `sha256:${'ab'.repeat(32)}`;

test('oci-layout://DIR[:TAG][@DIGEST], as BuildKit takes it; a relative DIR is made absolute', (t) => {
  t.deepEqual(parseLayoutRef('oci-layout:///srv/img'), { dir: '/srv/img' });
  t.deepEqual(parseLayoutRef('oci-layout:///srv/img:v1'), { dir: '/srv/img', tag: 'v1' });
  t.deepEqual(parseLayoutRef(`oci-layout:///srv/img@${D}`), { dir: '/srv/img', digest: D });
  t.deepEqual(parseLayoutRef(`oci-layout:///srv/img:v1@${D}`), { dir: '/srv/img', tag: 'v1', digest: D });
  t.deepEqual(parseLayoutRef('oci-layout://out/img:2', '/work'), { dir: '/work/out/img', tag: '2' });
  t.deepEqual(parseLayoutRef('oci-layout:///a:b/img'), { dir: '/a:b/img' }, 'a colon before the last slash is part of the path');
});

test('a digest that is not one is refused', (t) => {
  t.regex(t.throws(() => parseLayoutRef('oci-layout:///srv/img@latest'))!.message, /"latest" is not a sha256 digest/);
});
