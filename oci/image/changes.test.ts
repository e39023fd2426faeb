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

test('HEALTHCHECK changes set Healthcheck exactly as the Dockerfile instruction does', (t) => {
  t.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --retries=4 CMD wget -q -O- http://localhost/ || exit 1']).Healthcheck, {
    Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'],
    Interval: 30e9,
    Timeout: 3e9,
    StartPeriod: 60e9,
    Retries: 4,
  });
  t.deepEqual(applyChanges({}, ['healthcheck CMD ["/bin/check", "-v"]']).Healthcheck, { Test: ['CMD', '/bin/check', '-v'] });
  t.deepEqual(applyChanges({ Healthcheck: { Test: ['CMD', 'x'] } }, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
});

test('a bad HEALTHCHECK change is an E_CHANGE error that says why', (t) => {
  for (const [bad, why] of [
    ['HEALTHCHECK --interval=soon CMD true', /invalid duration "soon"/],
    ['HEALTHCHECK --bogus=1 CMD true', /Unknown flag: bogus/],
    ['HEALTHCHECK CMD', /Missing command after HEALTHCHECK CMD|requires at least one argument/],
    ['HEALTHCHECK NONE extra', /takes no arguments/],
  ] as const) {
    const e = t.throws(() => applyChanges({}, [bad]), undefined, bad);
    t.is((e as { code?: string }).code, 'E_CHANGE', bad);
    t.regex(e!.message, why, bad);
  }
});
