import test from 'ava';
import { resolveUserFrom } from './users.js';

const files = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n',
  group: 'root:x:0:\ndaemon:x:1:\nwheel:x:10:root,daemon\nadm:x:4:daemon\n',
};

// The primary group is a supplementary group too, as containerd and BuildKit give it since
// CVE-2023-25173: a process dropping its supplementary groups must not keep a group it was not given.
test('the primary group leads the supplementary groups, then the groups /etc/group lists the user in', (t) => {
  t.deepEqual(resolveUserFrom(files, undefined), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
  t.deepEqual(resolveUserFrom(files, 'daemon'), { uid: 1, gid: 1, additionalGids: [1, 10, 4], home: '/usr/sbin' });
  t.deepEqual(resolveUserFrom(files, '1'), { uid: 1, gid: 1, additionalGids: [1, 10, 4], home: '/usr/sbin' });
});

test('a user with no passwd entry gets gid 0, and an explicit group is the only supplementary group', (t) => {
  t.deepEqual(resolveUserFrom(files, '1234'), { uid: 1234, gid: 0, additionalGids: [0], home: '/' });
  t.deepEqual(resolveUserFrom(files, '1234:1234'), { uid: 1234, gid: 1234, additionalGids: [1234], home: '/' });
  t.deepEqual(resolveUserFrom(files, 'daemon:wheel'), { uid: 1, gid: 10, additionalGids: [10], home: '/usr/sbin' });
});

test('unknown names are errors, unknown numbers are not', (t) => {
  t.throws(() => resolveUserFrom(files, 'nobody'), { code: 'E_RUNTIME_USER', message: /unable to find user nobody/ });
  t.throws(() => resolveUserFrom(files, 'root:staff'), { code: 'E_RUNTIME_USER', message: /unable to find group staff/ });
  t.is(resolveUserFrom({ passwd: '', group: '' }, undefined).uid, 0);
});
