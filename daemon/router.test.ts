import test from 'ava';
import { ApiError } from './http.js';
import { Router, type Route } from './router.js';

const h = async () => undefined;
const routes: Route[] = [
  { method: 'GET', pattern: '/images/json', handler: h },
  { method: 'GET', pattern: '/images/{name}/json', handler: h },
  { method: 'DELETE', pattern: '/images/{name}', handler: h },
  { method: 'POST', pattern: '/containers/{id}/attach', upgrade: h },
];
const router = new Router(routes);

function error(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('no error');
}

test('literal paths win over {name}; names keep slashes, ports and escapes', (t) => {
  t.is(router.match('GET', '/images/json').route.pattern, '/images/json');
  const m = router.match('GET', '/v1.41/images/127.0.0.1:5000/team/app:1/json');
  t.is(m.route.pattern, '/images/{name}/json');
  t.deepEqual(m.params, { name: '127.0.0.1:5000/team/app:1' });
  t.is(m.version, '1.41');
  t.deepEqual(router.match('DELETE', '/images/sha256%3Aabc').params, { name: 'sha256:abc' });
  t.is(router.match('HEAD', '/images/json').route.pattern, '/images/json');
});

test('unknown paths are 404 naming the endpoint; wrong methods 405; bad versions and escapes 400', (t) => {
  const unknown = error(() => router.match('GET', '/v1.41/volumes'));
  t.is(unknown.status, 404);
  t.regex(unknown.message, /kiln does not implement GET \/volumes/);
  t.is(error(() => router.match('PUT', '/images/json')).status, 405);
  t.regex(error(() => router.match('GET', '/v1.42/images/json')).message, /too new/);
  t.regex(error(() => router.match('GET', '/v1.12/images/json')).message, /too old/);
  t.is(error(() => router.match('GET', '/images/%E0%A4%A/json')).status, 400);
});
