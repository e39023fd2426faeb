import test from 'ava';
import { applyChanges } from './changes.js';

test('--change instructions set the container config like docker import', (t) => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'CMD ["sh"]',
    'ENTRYPOINT /entry.sh --flag',
    'ENV PATH=/usr/bin:/bin FOO="a b"',
    'ENV LEGACY some value',
    'LABEL a=1 "b c"=2',
    'EXPOSE 80 53/udp',
    'VOLUME ["/data"]',
    'USER nobody',
    'WORKDIR /srv',
    'STOPSIGNAL SIGTERM',
    'ONBUILD RUN echo hi',
    'SHELL ["/bin/ash", "-c"]',
  ]);
  t.deepEqual(c, {
    Env: ['PATH=/usr/bin:/bin', 'FOO=a b', 'LEGACY=some value'],
    Cmd: ['sh'],
    Entrypoint: ['/bin/sh', '-c', '/entry.sh --flag'],
    Labels: { a: '1', 'b c': '2' },
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    Volumes: { '/data': {} },
    User: 'nobody',
    WorkingDir: '/srv',
    StopSignal: 'SIGTERM',
    OnBuild: ['RUN echo hi'],
    Shell: ['/bin/ash', '-c'],
  });
});

test('unsupported or malformed changes are E_CHANGE errors', (t) => {
  for (const bad of ['RUN echo', 'FROM x', 'ENV', 'LABEL "unterminated=1', 'USER', '']) {
    const e = t.throws(() => applyChanges({}, [bad]), undefined, bad);
    t.is((e as { code?: string }).code, 'E_CHANGE', bad);
  }
});
