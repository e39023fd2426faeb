import test from 'ava';
import { layerExportFields, parseLayerExport } from '../oci/index.js';
import { layerPackingFor, parseOutputSpec } from './outputs.js';

test('type=image takes name= and push= (buildx); type=registry is type=image,push=true', (t) => {
  t.deepEqual(parseOutputSpec('type=image,name=r:5000/a:1,push=true'), { type: 'image', name: 'r:5000/a:1', push: true });
  t.deepEqual(parseOutputSpec('type=image'), { type: 'image', push: false });
  t.deepEqual(parseOutputSpec('type=registry,name=r/a:1'), { type: 'image', name: 'r/a:1', push: true });
  t.deepEqual(parseOutputSpec('type=oci,dest=out.tar'), { type: 'oci', dest: 'out.tar' });
});

test('buildx defaults: an archive without dest= goes to stdout, type=docker without one is loaded, type=local never to stdout', (t) => {
  t.deepEqual(parseOutputSpec('-'), { type: 'tar', dest: '-' });
  t.deepEqual(parseOutputSpec('out'), { type: 'local', dest: 'out' });
  t.deepEqual(parseOutputSpec('type=tar'), { type: 'tar', dest: '-' });
  t.deepEqual(parseOutputSpec('type=oci'), { type: 'oci', dest: '-' });
  t.deepEqual(parseOutputSpec('type=docker'), { type: 'image', push: false });
  t.deepEqual(parseOutputSpec('type=docker,name=a:1'), { type: 'image', name: 'a:1', push: false });
  t.deepEqual(parseOutputSpec('type=docker,dest=d.tar'), { type: 'docker', dest: 'd.tar' });
  t.regex(t.throws(() => parseOutputSpec('type=local'))!.message, /type=local needs dest=PATH/);
  t.regex(t.throws(() => parseOutputSpec('type=local,dest=-'))!.message, /type=local cannot write to stdout/);
});

test('push= is only for image outputs and only true or false', (t) => {
  t.regex(t.throws(() => parseOutputSpec('type=image,push=yes'))!.message, /push=yes is not true or false/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,push=true'))!.message, /unsupported option "push" for type oci/);
});

test('compression=, compression-level= and force-compression= (buildx) for image and oci outputs', (t) => {
  t.deepEqual(parseOutputSpec('type=oci,dest=o.tar,compression=zstd'), { type: 'oci', dest: 'o.tar', layers: { compression: 'zstd' } });
  t.deepEqual(parseOutputSpec('type=oci,dest=o.tar,compression=gzip,compression-level=9,force-compression=true'), {
    type: 'oci',
    dest: 'o.tar',
    layers: { compression: 'gzip', level: 9, force: true },
  });
  t.deepEqual(parseOutputSpec('type=registry,name=r/a:1,compression=uncompressed'), { type: 'image', name: 'r/a:1', layers: { compression: 'none' }, push: true });
  t.deepEqual(parseOutputSpec('type=image,compression-level=3'), { type: 'image', layers: { compression: 'gzip', level: 3 }, push: false });
  // As BuildKit reads them: Go's ParseBool, and zstd level 0 for zstd's default.
  t.deepEqual(parseOutputSpec('type=oci,dest=o.tar,compression=zstd,compression-level=0,force-compression=1'), { type: 'oci', dest: 'o.tar', layers: { compression: 'zstd', force: true } });
  t.deepEqual(parseOutputSpec('type=oci,dest=o.tar,force-compression=False'), { type: 'oci', dest: 'o.tar', layers: { compression: 'gzip' } });
  t.deepEqual(parseLayerExport(new Map(Object.entries(layerExportFields({ compression: 'zstd', level: 19, force: true }))), 'test'), { compression: 'zstd', level: 19, force: true });
});

test('bad compression options are errors that say what is accepted', (t) => {
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,compression=lz4'))!.message, /unknown compression "lz4"/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,compression=gzip,compression-level=10'))!.message, /compression-level=10 is not a gzip level/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,compression=zstd,compression-level=x'))!.message, /compression-level=x is not a zstd level/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,compression=uncompressed,compression-level=1'))!.message, /compression-level needs compression=gzip or zstd/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,force-compression=yes'))!.message, /force-compression=yes is not true or false/);
  const docker = t.throws(() => parseOutputSpec('type=docker,dest=o.tar,compression=gzip')) as { message: string; hint?: string };
  t.regex(docker.message, /unsupported option "compression" for type docker/);
  t.regex(docker.hint ?? '', /plain layer tars/);
  t.regex(t.throws(() => parseOutputSpec('type=local,dest=d,compression=gzip'))!.message, /unsupported option "compression" for type local/);
});

test('a build packs gzip itself only when every output that compresses wants gzip at the default level', (t) => {
  const o = (spec: string) => parseOutputSpec(spec);
  t.is(layerPackingFor([]), 'plain', 'the image stays in the store');
  t.is(layerPackingFor([o('type=image')]), 'plain');
  t.is(layerPackingFor([o('type=local,dest=d'), o('type=docker,dest=d.tar')]), 'plain');
  t.is(layerPackingFor([o('type=registry,name=r/a:1')]), 'gzip');
  t.is(layerPackingFor([o('type=oci,dest=o.tar'), o('type=local,dest=d')]), 'gzip');
  t.is(layerPackingFor([o('type=oci,dest=o.tar,compression=gzip,force-compression=true')]), 'gzip');
  t.is(layerPackingFor([o('type=oci,dest=o.tar'), o('type=registry,name=r/a:1,compression=zstd')]), 'plain');
  t.is(layerPackingFor([o('type=oci,dest=o.tar,compression-level=9')]), 'plain');
  t.is(layerPackingFor([o('type=oci,dest=o.tar,compression=uncompressed')]), 'plain');
});

test('an OCI or docker archive keeps its name=, which names the image in it (BuildKit exporter/oci keyImageName)', (t) => {
  t.deepEqual(parseOutputSpec('type=oci,dest=o.tar,name=foo/bar:3'), { type: 'oci', dest: 'o.tar', name: 'foo/bar:3' });
  t.deepEqual(parseOutputSpec('type=docker,dest=d.tar,name=a:1'), { type: 'docker', dest: 'd.tar', name: 'a:1' });
  t.deepEqual(parseOutputSpec('type=local,dest=d,name=x'), { type: 'local', dest: 'd' });
});
