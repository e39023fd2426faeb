import test from 'ava';
import { checkBuildPlatforms, hostPlatform } from './platform.js';

test('--platform as containerd parses it: OS/ARCH, one component (an OS or an architecture), aliases, comma lists split by the caller', (t) => {
  const host = hostPlatform();
  for (const p of [`${host.os}/${host.architecture}`, host.architecture, host.os, 'local', `${host.os.toUpperCase()}/${host.architecture}`]) {
    t.notThrows(() => checkBuildPlatforms([p]), p);
  }
  if (host.architecture === 'amd64') t.notThrows(() => checkBuildPlatforms(['x86_64', 'linux/x86_64']));
  const other = host.architecture === 'amd64' ? 'arm64' : 'amd64';
  for (const p of [other, `linux/${other}`, 'windows']) t.throws(() => checkBuildPlatforms([p]), { code: 'E_BUILD_PLATFORM' }, p);
});
