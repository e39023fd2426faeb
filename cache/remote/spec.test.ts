import test from 'ava';
import { parseCacheFrom, parseCacheTo } from './spec.js';

test('--cache-to: buildx syntax and defaults (mode=min, tag latest, bare REF is a registry)', (t) => {
  t.deepEqual(parseCacheTo('type=registry,ref=h:5000/a/cache:1,mode=max,mounts=true'), { type: 'registry', ref: 'h:5000/a/cache:1', mode: 'max', mounts: true, ignoreError: false });
  t.deepEqual(parseCacheTo('h:5000/a/cache:1'), { type: 'registry', ref: 'h:5000/a/cache:1', mode: 'min', mounts: false, ignoreError: false });
  t.deepEqual(parseCacheTo('type=local,dest=/tmp/c,ignore-error=true'), { type: 'local', dest: '/tmp/c', tag: 'latest', mode: 'min', mounts: false, ignoreError: true });
  t.deepEqual(parseCacheTo('type=inline'), { type: 'inline' });
  t.deepEqual(parseCacheTo('type=registry,ref=r/c,image-manifest=true,oci-mediatypes=true').type, 'registry', 'layout-only buildx options are accepted');
});

test('--cache-from: registry, bare REF and local', (t) => {
  t.deepEqual(parseCacheFrom('type=registry,ref=r/c:1'), { type: 'registry', ref: 'r/c:1' });
  t.deepEqual(parseCacheFrom('r/app:1'), { type: 'registry', ref: 'r/app:1' });
  t.deepEqual(parseCacheFrom('type=local,src=/c,tag=v2'), { type: 'local', src: '/c', tag: 'v2' });
});

test('bad specs are E_CACHE_SPEC errors that name the flag and the problem', (t) => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseCacheTo('type=registry'), /ref= is required/],
    [() => parseCacheTo('type=registry,ref=r/c,mode=all'), /mode=all is not min or max/],
    [() => parseCacheTo('type=local,dest=/c,mounts=yes'), /mounts=yes is not true or false/],
    [() => parseCacheTo('type=gha'), /"gha" is not supported by kiln/],
    [() => parseCacheTo('type=foo,ref=x'), /unknown cache type "foo"/],
    [() => parseCacheTo('ref=x,mode=max'), /type= is required/],
    [() => parseCacheTo('type=inline,mode=max'), /unknown option "mode" for type=inline/],
    [() => parseCacheTo('type=registry,ref=r,junk'), /"junk" is not KEY=VALUE/],
    [() => parseCacheFrom('type=local,dest=/c'), /unknown option "dest"/],
    [() => parseCacheFrom('type=inline'), /unknown cache type "inline"/],
  ];
  for (const [fn, re] of cases) {
    const e = t.throws(fn);
    t.is((e as { code?: string }).code, 'E_CACHE_SPEC');
    t.regex(e!.message, re);
  }
});
