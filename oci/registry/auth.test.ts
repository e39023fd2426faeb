import test from 'ava';
import { parseChallenges } from './auth.js';

test('parses a Bearer challenge with quoted parameters', (t) => {
  t.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
});

test('parses Basic, unquoted values and escapes', (t) => {
  t.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
  t.deepEqual(parseChallenges('Bearer realm=https://h/t, service="a \\"b\\""'), [{ scheme: 'bearer', params: { realm: 'https://h/t', service: 'a "b"' } }]);
});

test('parses several challenges in one header', (t) => {
  const got = parseChallenges('Basic realm="r1", Bearer realm="https://t/token",scope="repository:a,b:pull,push"');
  t.deepEqual(
    got.map((c) => c.scheme),
    ['basic', 'bearer'],
  );
  t.is(got[1]!.params.scope, 'repository:a,b:pull,push');
});
