import test from 'ava';
import { familiarReference, formatReference, InvalidReferenceError, parseReference } from './reference.js';

const hex = 'a'.repeat(64);

const good: Array<[string, string, string]> = [
  ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
  ['myorg/app', 'docker.io/myorg/app:latest', 'myorg/app:latest'],
  ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
  ['localhost:5000/a/b:t', 'localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
  [`busybox@sha256:${hex}`, `docker.io/library/busybox@sha256:${hex}`, `busybox@sha256:${hex}`],
  [`h.io/a:t@sha256:${hex}`, `h.io/a:t@sha256:${hex}`, `h.io/a:t@sha256:${hex}`],
  ['Example.com/app', 'Example.com/app:latest', 'Example.com/app:latest'],
  ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
  ['a__b/c-d.e', 'docker.io/a__b/c-d.e:latest', 'a__b/c-d.e:latest'],
];

for (const [input, full, familiar] of good) {
  test(`parses ${input}`, (t) => {
    const ref = parseReference(input);
    t.is(formatReference(ref), full);
    t.is(familiarReference(ref), familiar);
  });
}

const bad = ['', 'UPPER', 'docker.io/Upper', 'a:bad tag', 'a@sha256:123', 'a//b', '-a', 'a:', 'host:port/x', `a@${hex}`, 'a'.repeat(256)];
for (const input of bad) {
  test(`rejects ${JSON.stringify(input.slice(0, 40))}`, (t) => {
    const err = t.throws(() => parseReference(input), { instanceOf: InvalidReferenceError });
    t.is(err?.code, 'E_REFERENCE');
  });
}

test('digest-only reference has no tag', (t) => {
  const ref = parseReference(`busybox@sha256:${hex}`);
  t.is(ref.tag, undefined);
  t.is(ref.digest, `sha256:${hex}`);
});
