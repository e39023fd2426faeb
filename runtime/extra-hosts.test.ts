import test from 'ava';
import { extraHostLines, parseExtraHost } from './extra-hosts.js';

test('HOST:IP and HOST=IP, IPv6 without or with brackets, host-gateway; a missing name or address is refused', (t) => {
  t.deepEqual(parseExtraHost('db:10.0.0.5'), { host: 'db', ip: '10.0.0.5' });
  t.deepEqual(parseExtraHost('db.local=fd00::5'), { host: 'db.local', ip: 'fd00::5' });
  t.deepEqual(parseExtraHost('v6:[::1]'), { host: 'v6', ip: '::1' });
  t.deepEqual(parseExtraHost('host.docker.internal:host-gateway'), { host: 'host.docker.internal', ip: '127.0.0.1' });
  t.deepEqual(parseExtraHost('my_db:10.0.0.6'), { host: 'my_db', ip: '10.0.0.6' });
  for (const bad of ['db', 'db:', ':10.0.0.5', 'db:not-an-ip']) t.throws(() => parseExtraHost(bad), { code: 'E_RUNTIME_ADD_HOST' }, bad);
  t.is(extraHostLines([{ host: 'db', ip: '10.0.0.5' }, { host: 'v6', ip: '::1' }]), '10.0.0.5\tdb\n::1\tv6\n');
});
