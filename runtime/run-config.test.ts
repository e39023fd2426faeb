import test from 'ava';
import { parseEnvFile, resolveRunProcess } from './run-config.js';
import { parseSecretFlag } from './secrets.js';
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { buildSpec } from './spec.js';

const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['A=image', 'B=image'], WorkingDir: '/app', User: 'app' };

test('docker run semantics for entrypoint, cmd, env, workdir and user', (t) => {
  const base = { command: [], env: [], hostname: 'h' };
  t.deepEqual(resolveRunProcess(image, base, {}), {
    args: ['/entry', 'default'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'A=image', 'B=image'],
    cwd: '/app',
    user: 'app',
  });
  t.deepEqual(resolveRunProcess(image, { ...base, command: ['x', 'y'] }, {}).args, ['/entry', 'x', 'y']);
  t.deepEqual(resolveRunProcess(image, { ...base, entrypoint: 'sh' }, {}).args, ['sh']);
  t.deepEqual(resolveRunProcess(image, { ...base, entrypoint: '', command: ['ls'] }, {}).args, ['ls']);
  const o = resolveRunProcess(image, { ...base, env: ['B=flag', 'C', 'D'], workdir: '/w', user: '1:2' }, { C: 'host' });
  t.deepEqual(o.env.slice(2), ['A=image', 'B=flag', 'C=host']);
  t.is(o.cwd, '/w');
  t.is(o.user, '1:2');
  t.throws(() => resolveRunProcess({}, base, {}), { message: 'no command specified' });
});

test('env files skip comments and blank lines', (t) => {
  t.deepEqual(parseEnvFile('# c\nA=1\n\n  B=two words\r\nC\n'), ['A=1', 'B=two words', 'C']);
});

test('secret flags: src, env, or the id as env name', (t) => {
  t.deepEqual(parseSecretFlag('id=a,src=/f'), { id: 'a', file: '/f' });
  t.deepEqual(parseSecretFlag('id=a,source=/f'), { id: 'a', file: '/f' });
  t.deepEqual(parseSecretFlag('id=a,env=TOKEN'), { id: 'a', env: 'TOKEN' });
  t.deepEqual(parseSecretFlag('id=a', { a: 'set' }), { id: 'a', env: 'a' });
  t.throws(() => parseSecretFlag('src=/f'), { code: 'E_RUNTIME_SECRET_FLAG' });
});

test('secret flags as buildx and BuildKit read them: type=, the id as a file, unknown keys refused', (t) => {
  // type=env takes src= as the variable's name (buildx's Secret.UnmarshalText); type=file is the default.
  t.deepEqual(parseSecretFlag('type=env,id=a,src=TOKEN'), { id: 'a', env: 'TOKEN' });
  t.deepEqual(parseSecretFlag('type=env,id=a,source=TOKEN'), { id: 'a', env: 'TOKEN' });
  t.deepEqual(parseSecretFlag('type=file,id=a,src=/f'), { id: 'a', file: '/f' });
  t.deepEqual(parseSecretFlag('ID=a,SRC=/f'), { id: 'a', file: '/f' });
  // Just id=: the variable when it is set, else the file of that name (secretsprovider.NewStore).
  t.deepEqual(parseSecretFlag('id=a', {}), { id: 'a', file: 'a' });
  t.regex(t.throws(() => parseSecretFlag('id=a,srcc=/f'), { code: 'E_RUNTIME_SECRET_FLAG' }).message, /unexpected key "srcc"/);
  t.regex(t.throws(() => parseSecretFlag('type=ssh,id=a'), { code: 'E_RUNTIME_SECRET_FLAG' }).message, /unsupported secret type "ssh"/);
});

test('the spec has namespaces per network mode, default PATH and HOME, docker capabilities', (t) => {
  const input = {
    rootfs: '/r',
    args: ['true'],
    env: ['X=1'],
    cwd: '/',
    user: { uid: 5, gid: 6, additionalGids: [7], home: '/home/u' },
    hostname: 'h',
    network: 'host' as const,
    hostsFile: '/b/hosts',
    resolvConfFile: '/b/resolv.conf',
    mounts: [{ destination: '/m', type: 'tmpfs', source: 'tmpfs' }],
  };
  const host = buildSpec(input) as any;
  t.deepEqual(host.linux.namespaces.map((n: { type: string }) => n.type), ['pid', 'ipc', 'uts', 'mount']);
  t.deepEqual(host.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'X=1', 'HOME=/home/u']);
  t.deepEqual(host.process.user, { uid: 5, gid: 6, additionalGids: [7] });
  t.is(host.process.capabilities.bounding.length, 13);
  t.false(host.process.capabilities.bounding.includes('CAP_NET_RAW'));
  t.deepEqual(host.process.capabilities.effective, DEFAULT_CAPABILITIES);
  t.true(host.process.noNewPrivileges);
  t.is(host.mounts.at(-1).destination, '/m');
  const none = buildSpec({ ...input, network: 'none' }) as any;
  t.true(none.linux.namespaces.some((n: { type: string }) => n.type === 'network'));
  // A terminal is sized from the start; without one there is nothing to size.
  t.deepEqual((buildSpec({ ...input, terminal: true, consoleSize: { rows: 33, cols: 101 } }) as any).process.consoleSize, { height: 33, width: 101 });
  t.is(host.process.consoleSize, undefined);
  t.is((buildSpec({ ...input, consoleSize: { rows: 33, cols: 101 } }) as any).process.consoleSize, undefined);
});
