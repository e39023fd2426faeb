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
  t.false('history' in omitEmptyConfig({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] }));
});
