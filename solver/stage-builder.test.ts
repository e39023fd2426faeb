import test from 'ava';
import { parseDockerfile, type AddInstruction, type CopyInstruction } from '../grammar/index.js';
import { copyHistory, withPath } from './stage-builder.js';

const ins = (line: string) => parseDockerfile(`FROM scratch\n${line}\n`).instructions[1] as CopyInstruction | AddInstruction;

test('COPY/ADD history shows --parents, --chown and --chmod and heredoc names, as BuildKit', (t) => {
  t.is(copyHistory(ins('COPY --link --from=x --chmod=755 --chown=1:2 --exclude=*.md a b /d/')), 'COPY --chown=1:2 --chmod=755 a b /d/');
  t.is(copyHistory(ins('COPY --parents x/./y /d/')), 'COPY --parents x/./y /d/');
  t.is(copyHistory(ins('ADD --checksum=sha256:abc https://example.com/f /f')), 'ADD https://example.com/f /f');
  t.is(copyHistory(ins('COPY <<EOF /h.txt\nhi\nEOF')), 'COPY <<EOF /h.txt');
});

test('a base image without PATH gets the default one, as BuildKit makes sure PATH is set', (t) => {
  const base = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] } };
  t.deepEqual(withPath({ ...base, config: { Env: ['A=1'] } }).config!.Env, ['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.deepEqual(withPath({ ...base }).config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.deepEqual(withPath({ ...base, config: { Env: ['PATH=/x'] } }).config!.Env, ['PATH=/x']);
});
