import test from 'ava';
import { renderTemplate } from './go-template.js';

const image = { Id: 'sha256:abc', RepoTags: ['a:1', 'b:2'], Config: { Env: ['PATH=/bin'], Labels: { team: 'x' }, Cmd: null }, Size: 42 };

test('fields, json, index and join as docker --format strings use them, with \\t and \\n', (t) => {
  const cases: [string, string][] = [
    ['{{.Id}}', 'sha256:abc'],
    ['{{.Id}}\\t{{.Size}}\\n', 'sha256:abc\t42\n'],
    ['{{json .Config.Env}}', '["PATH=/bin"]'],
    ['{{index .Config.Labels "team"}} {{index .Config.Labels "none"}}', 'x <no value>'],
    ['{{join .RepoTags ","}}', 'a:1,b:2'],
    ['{{.RepoTags}} {{.Config.Labels}} {{.Config.Cmd}}', '[a:1 b:2] map[team:x] <no value>'],
    ['  {{- .Size -}}  !', '42!'],
    ['{{upper .Config.Labels.team}}', 'X'],
  ];
  for (const [format, want] of cases) t.is(renderTemplate(format, image), want, format);
});

test('an unknown field, an unknown function or an unclosed action is a clear error', (t) => {
  t.throws(() => renderTemplate('{{.Nope}}', image), { code: 'E_FORMAT', message: 'invalid --format "{{.Nope}}": can\'t evaluate field Nope' });
  t.throws(() => renderTemplate('{{printf "%s" .Id}}', image), { code: 'E_FORMAT', message: /function "printf" not defined/ });
  t.throws(() => renderTemplate('{{.Id', image), { code: 'E_FORMAT', message: /unclosed action/ });
});
