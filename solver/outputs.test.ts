import test from 'ava';
import { parseOutputSpec } from './outputs.js';

test('type=image takes name= and push= (buildx); type=registry is type=image,push=true', (t) => {
  t.deepEqual(parseOutputSpec('type=image,name=r:5000/a:1,push=true'), { type: 'image', name: 'r:5000/a:1', push: true });
  t.deepEqual(parseOutputSpec('type=image'), { type: 'image', push: false });
  t.deepEqual(parseOutputSpec('type=registry,name=r/a:1'), { type: 'image', name: 'r/a:1', push: true });
  t.deepEqual(parseOutputSpec('type=oci,dest=out.tar'), { type: 'oci', dest: 'out.tar' });
});

test('push= is only for image outputs and only true or false', (t) => {
  t.regex(t.throws(() => parseOutputSpec('type=image,push=yes'))!.message, /push=yes is not true or false/);
  t.regex(t.throws(() => parseOutputSpec('type=oci,dest=o.tar,push=true'))!.message, /unsupported option "push" for type oci/);
});
