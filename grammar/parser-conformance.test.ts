import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParseError, dumpAst, parseDockerfile, parseDockerfileNodes } from './index.js';

// CI clones the repository with shared/ beside it.
const data = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'conformance', 'buildkit');
const cases = (kind: string) => (existsSync(join(data, kind)) ? readdirSync(join(data, kind)).sort() : []);

test('conformance data is present', (t) => {
  t.true(cases('parser').length > 0, `no parser cases under ${data}`);
  t.true(cases('parser-negative').length > 0, `no parser-negative cases under ${data}`);
});

for (const name of cases('parser')) {
  test(`parser/${name}: dump equals BuildKit's result byte for byte`, (t) => {
    const dir = join(data, 'parser', name);
    const src = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    t.is(dumpAst(parseDockerfileNodes(src, { file: `${name}/Dockerfile` })), readFileSync(join(dir, 'result'), 'utf8'));
  });
}

for (const name of cases('parser-negative')) {
  test(`parser-negative/${name}: rejected with a positioned error`, (t) => {
    const src = readFileSync(join(data, 'parser-negative', name, 'Dockerfile'), 'utf8');
    const err = t.throws(() => parseDockerfile(src, { file: 'Dockerfile' }), { instanceOf: DockerfileParseError });
    t.is(err?.position.file, 'Dockerfile');
    t.true((err?.position.line ?? 0) >= 1);
    t.true((err?.position.column ?? 0) >= 1);
  });
}
