import test from 'ava';
import { omitEmptyConfig } from './omit-empty.js';

test('null, empty and zero omitempty fields are left out, as BuildKit writes the config', (t) => {
  const out = omitEmptyConfig({
    architecture: 'amd64',
    os: 'linux',
    author: '',
    config: { Env: ['PATH=/bin'], Cmd: null, Entrypoint: ['x'], OnBuild: null, Labels: {}, User: '', ArgsEscaped: false, Healthcheck: { Test: ['NONE'], Interval: 0, Retries: 0 } },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'ENTRYPOINT ["x"]', comment: 'buildkit.dockerfile.v0', empty_layer: false }],
  });
  t.deepEqual(out, {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Entrypoint: ['x'], Healthcheck: { Test: ['NONE'] } },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'ENTRYPOINT ["x"]', comment: 'buildkit.dockerfile.v0' }],
  });
  t.deepEqual(Object.keys(out), ['architecture', 'config', 'history', 'os', 'rootfs'], 'top level sorted, as BuildKit re-marshals it as a map');
  const sorted = omitEmptyConfig({ architecture: 'amd64', os: 'linux', config: { Labels: { b: '1', a: '2' }, ExposedPorts: { '80/tcp': {}, '443/tcp': {} } }, rootfs: { type: 'layers', diff_ids: [] } });
  t.is(JSON.stringify(sorted.config), '{"ExposedPorts":{"443/tcp":{},"80/tcp":{}},"Labels":{"a":"2","b":"1"}}', 'map keys sorted as Go marshals them');
  t.false('history' in omitEmptyConfig({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] }));
});
