/**
 * Bad input to every command, through the built CLI as a user's shell runs it (bin/kiln.js by its
 * #! line; `npm run build` first): each case exits 1 (or docker's code) with one paragraph, the
 * `kiln: ...` (or FILE:LINE:COL) line saying what is wrong and a `hint:` saying what to do, never a
 * stack trace, and `kiln check` still exits 0 after. A full disk is test/disk-full.test.ts's;
 * unreachable and invalid registries are the registry tests'.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { freshRoot } from './build-helpers.js';
import { builtKiln, spawnBuiltKiln } from './built-cli.js';
import type { ProcessResult } from './process-output.js';

const run = promisify(execFile);

/** The files the cases point at. */
interface Fixtures {
  root: string;
  dir: string;
  /** A read-only tmpfs. */
  ro: string;
  /** A directory that does not exist. */
  missing: string;
  file: string;
  empty: string;
  adir: string;
  dockerTar: string;
  ociTar: string;
  truncDocker: string;
  truncOci: string;
  gz: string;
  ctx: string;
  secretCtx: string;
  namedCtx: string;
  out: string;
}

let f: Fixtures;
let cleanupRoot: () => Promise<void>;

test.before(async () => {
  const base = await freshRoot();
  cleanupRoot = base.cleanup;
  const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-errors-'));
  const ro = join(dir, 'ro');
  await mkdir(ro);
  await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  f = {
    root: base.root,
    dir,
    ro,
    missing: join(dir, 'no-such-dir'),
    file: join(dir, 'text.txt'),
    empty: join(dir, 'empty'),
    adir: join(dir, 'adir'),
    dockerTar: join(dir, 'busybox-docker.tar'),
    ociTar: join(dir, 'busybox-oci.tar'),
    truncDocker: join(dir, 'trunc-docker.tar'),
    truncOci: join(dir, 'trunc-oci.tar'),
    gz: join(dir, 'busybox-docker.tar.gz'),
    ctx: join(dir, 'ctx'),
    secretCtx: join(dir, 'secret-ctx'),
    namedCtx: join(dir, 'named-ctx'),
    out: join(dir, 'out'),
  };
  await writeFile(f.file, 'hello\n');
  await writeFile(f.empty, '');
  await mkdir(f.adir);
  await mkdir(f.out);
  for (const [format, path] of [['docker', f.dockerTar], ['oci', f.ociTar]] as const) {
    const r = await builtKiln(f.root, ['save', '--format', format, '-o', path, 'busybox']);
    if (r.code !== 0) throw new Error(`kiln save: ${r.stderr}`);
  }
  // Cut inside the layer blob, as an interrupted download leaves it.
  await writeFile(f.truncDocker, (await readFile(f.dockerTar)).subarray(0, 300_000));
  await writeFile(f.truncOci, (await readFile(f.ociTar)).subarray(0, 300_000));
  await writeFile(f.gz, gzipSync(await readFile(f.dockerTar)));
  for (const [ctx, dockerfile] of [
    [f.ctx, 'FROM busybox\nCOPY a.txt /a.txt\n'],
    [f.secretCtx, 'FROM busybox\nRUN --mount=type=secret,id=s,required=true cat /run/secrets/s\n'],
    [f.namedCtx, 'FROM busybox\nCOPY --from=extra a.txt /a.txt\n'],
  ] as const) {
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    await writeFile(join(ctx, 'a.txt'), 'a\n');
  }
});

test.after.always(async () => {
  if (!f) return;
  await run('umount', [f.ro]).catch(() => run('umount', ['-l', f.ro]));
  await rm(f.dir, { recursive: true, force: true });
  await cleanupRoot();
});

interface Case {
  args: string[];
  /** The error paragraph must match (it starts at the `kiln:` or `FILE:LINE:COL:` line). */
  message: RegExp;
  code?: number;
  input?: string | Buffer;
  root?: string;
}

function assertUserError(t: ExecutionContext, r: ProcessResult, c: Case): void {
  const what = `kiln ${c.args.join(' ')}\n${r.stderr}`;
  t.is(r.code, c.code ?? 1, what);
  t.notRegex(r.stderr, /^\s+at |internal error|node:internal/m, what);
  const start = r.stderr.search(/^(kiln: |\S+:\d+:\d+: )/m);
  t.true(start >= 0, what);
  const paragraph = r.stderr.slice(start).trimEnd();
  t.regex(paragraph, c.message, what);
  t.false(paragraph.includes('\n\n'), `one paragraph: ${what}`);
  t.regex(paragraph, /\nhint: \S/, `says what to do: ${what}`);
}

async function assertCases(t: ExecutionContext, cases: Case[]): Promise<void> {
  for (const c of cases) assertUserError(t, await builtKiln(c.root ?? f.root, c.args, { cwd: f.dir, ...(c.input !== undefined ? { input: c.input } : {}) }), c);
  const check = await builtKiln(f.root, ['check']);
  t.is(check.code, 0, `kiln check after the cases: ${check.stdout}${check.stderr}`);
}

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.kiln-'));
}

test('output paths in a missing or read-only directory, or that are a directory, fail before any work', async (t) => {
  const cases: Case[] = [
    { args: ['save', '-o', join(f.missing, 'x.tar'), 'busybox'], message: /^kiln: cannot write -o \S+x\.tar: directory \S+no-such-dir does not exist$/m },
    { args: ['save', '-o', join(f.ro, 'x.tar'), 'busybox'], message: /^kiln: cannot write -o \S+: read-only file system$/m },
    { args: ['save', '-o', f.adir, 'busybox'], message: /^kiln: cannot write -o \S+adir: it is a directory$/m },
    { args: ['save', '--format', 'oci', '-o', join(f.file, 'x.tar'), 'busybox'], message: /^kiln: cannot write -o \S+: \S+text\.txt is not a directory$/m },
    { args: ['build', '-o', `type=oci,dest=${join(f.ro, 'x.tar')}`, f.ctx], message: /^kiln: cannot write --output dest=\S+: read-only file system$/m },
    { args: ['build', '-o', `type=docker,dest=${f.adir}`, f.ctx], message: /^kiln: cannot write --output dest=\S+adir: it is a directory$/m },
    { args: ['build', '-o', `type=tar,dest=${join(f.file, 'rootfs.tar')}`, f.ctx], message: /^kiln: cannot write --output dest=\S+: \S+text\.txt is not a directory$/m },
    { args: ['build', '-o', `type=local,dest=${f.file}`, f.ctx], message: /^kiln: cannot write --output dest=\S+text\.txt: it exists and is not a directory$/m },
    { args: ['build', '-o', `type=local,dest=${join(f.ro, 'rootfs')}`, f.ctx], message: /^kiln: cannot write --output dest=\S+: read-only file system$/m },
    { args: ['build', '--iidfile', join(f.missing, 'iid'), f.ctx], message: /^kiln: cannot write --iidfile \S+iid: directory \S+ does not exist$/m },
    { args: ['build', '--iidfile', f.adir, f.ctx], message: /^kiln: cannot write --iidfile \S+adir: it is a directory$/m },
    { args: ['build', '--metadata-file', join(f.ro, 'meta.json'), f.ctx], message: /^kiln: cannot write --metadata-file \S+: read-only file system$/m },
    { args: ['build', '--metadata-file', join(f.missing, 'meta.json'), f.ctx], message: /^kiln: cannot write --metadata-file \S+: directory \S+ does not exist$/m },
  ];
  await assertCases(t, cases);
  t.false(existsSync(f.missing), 'no directory was made for save -o or --iidfile');
  t.deepEqual(await leftovers(f.dir), []);
  t.deepEqual(await readdir(f.adir), []);
});

/** Runs kiln with stdout as given, to its end: the exit code and stderr. */
async function withStdout(args: string[], stdout: number | 'pipe', onStart?: (out: NodeJS.ReadableStream) => void): Promise<ProcessResult> {
  const child = spawnBuiltKiln(f.root, args, ['ignore', stdout, 'pipe']);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (onStart) onStart(child.stdout!);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code: code ?? -1, stdout: '', stderr };
}

test('an output that fails while written (a full disk, a closed pipe) is a message, and no partial file', async (t) => {
  const full = openSync('/dev/full', 'w');
  try {
    assertUserError(t, await withStdout(['save', 'busybox'], full), { args: ['save', 'busybox', '>/dev/full'], message: /^kiln: no space left on stdout$/m });
  } finally {
    closeSync(full);
  }
  // A reader that goes away mid-archive: the archive is incomplete, which kiln says.
  const closed = await withStdout(['save', 'busybox'], 'pipe', (out) => out.once('data', () => (out as NodeJS.ReadableStream & { destroy(): void }).destroy()));
  assertUserError(t, closed, { args: ['save', 'busybox', '| head -c1'], message: /^kiln: cannot write to stdout: the reading end of the pipe was closed$/m });
  // /dev/null is a device: written in place, not replaced by a file.
  const devNull = await builtKiln(f.root, ['save', '-o', '/dev/null', 'busybox']);
  t.is(devNull.code, 0, devNull.stderr);
  t.true((await stat('/dev/null')).isCharacterDevice());
  const check = await builtKiln(f.root, ['check']);
  t.is(check.code, 0, check.stdout + check.stderr);
});

test('input files that are missing, empty, truncated, compressed or not archives', async (t) => {
  const cases: Case[] = [
    { args: ['load', '-i', join(f.missing, 'x.tar')], message: /^kiln: cannot read \S+x\.tar: no such file or directory$/m },
    { args: ['load', '-i', f.adir], message: /^kiln: cannot read \S+adir: it is a directory$/m },
    { args: ['load', '-i', f.empty], message: /^kiln: \S+empty is neither an OCI image layout .* nor a docker-archive/m },
    { args: ['load', '-i', f.file], message: /^kiln: \S+text\.txt is not a complete tar archive/m },
    { args: ['load', '-i', f.truncDocker], message: /^kiln: \S+trunc-docker\.tar is not a complete tar archive/m },
    { args: ['load', '-i', f.truncOci], message: /^kiln: \S+trunc-oci\.tar is not a complete tar archive/m },
    { args: ['load'], input: 'hello\n', message: /^kiln: stdin is not a complete tar archive/m },
    { args: ['import', join(f.missing, 'rootfs.tar')], message: /^kiln: cannot read \S+rootfs\.tar: no such file or directory$/m },
    { args: ['import', f.adir], message: /^kiln: cannot read \S+adir: it is a directory$/m },
    { args: ['import', f.file, 'text:1'], message: /^kiln: \S+text\.txt is not a complete tar archive/m },
    { args: ['import', f.truncDocker, 'trunc:1'], message: /^kiln: \S+trunc-docker\.tar is not a complete tar archive/m },
    { args: ['import', f.gz, 'gz:1'], message: /^kiln: \S+\.tar\.gz is gzip-compressed, not a plain tar archive$/m },
    { args: ['import', '-', 'stdin:1'], input: (await readFile(f.truncDocker)).subarray(0, 100_000), message: /^kiln: stdin is not a complete tar archive/m },
    { args: ['build', '-f', join(f.missing, 'Dockerfile'), f.ctx], message: /^kiln: cannot read the Dockerfile \S+: no such file or directory$/m },
    { args: ['build', '-f', f.adir, f.ctx], message: /^kiln: cannot read the Dockerfile \S+adir: it is a directory$/m },
    { args: ['build', '-f', f.empty, f.ctx], message: /^\S+empty:1:1: file with no instructions$/m },
    { args: ['build', '-f', f.file, f.ctx], message: /^\S+text\.txt:1:1: unknown instruction: hello$/m },
    // As buildx's loadInputs: the context is checked first, so a missing one is not taken for a missing Dockerfile.
    { args: ['build', f.missing], message: /^kiln: unable to prepare context: path \S+no-such-dir" not found or not a directory$/m },
    { args: ['build', f.file], message: /^kiln: unable to prepare context: path \S+text\.txt" not found or not a directory$/m },
    { args: ['build', '-'], input: await readFile(f.dockerTar), message: /^kiln: a build context from stdin \(a tar archive\) is not supported yet$/m },
    { args: ['build', '-f', '-', '-'], input: 'FROM busybox\n', message: /^kiln: can't use stdin for both build context and Dockerfile$/m },
    { args: ['build', '-f', join(f.ctx, 'Dockerfile'), '-'], input: 'FROM busybox\n', message: /^kiln: ambiguous Dockerfile source: both stdin and -f give a Dockerfile$/m },
    { args: ['build', '--secret', `id=s,src=${join(f.missing, 'secret')}`, f.secretCtx], message: /cannot read secret "s" from \S+secret: no such file or directory$/m },
    { args: ['build', '--secret', `id=s,src=${f.adir}`, f.secretCtx], message: /cannot read secret "s" from \S+adir: it is a directory$/m },
    { args: ['build', '--build-context', `extra=${f.missing}`, f.namedCtx], message: /^kiln: unable to prepare context: path \S+no-such-dir" not found or not a directory$/m },
    { args: ['build', '--build-context', `extra=${f.file}`, f.namedCtx], message: /^kiln: unable to prepare context: path \S+text\.txt" not found or not a directory$/m },
    { args: ['run', '--env-file', join(f.missing, 'env'), 'busybox', 'true'], message: /^kiln: cannot read env file \S+env: no such file or directory$/m },
    { args: ['run', '--env-file', f.adir, 'busybox', 'true'], message: /^kiln: cannot read env file \S+adir: it is a directory$/m },
  ];
  await assertCases(t, cases);
  const images = await builtKiln(f.root, ['images']);
  t.notRegex(images.stdout, /^(text|trunc|gz|stdin)\s/m, 'no image was made of a bad tarball');
});

test('bad flag values, for every enum and number flag', async (t) => {
  const cases: Case[] = [
    { args: ['save', '--format', 'tar', 'busybox'], message: /^kiln: unknown --format "tar"$/m },
    { args: ['import', '--compression', 'lz4', f.dockerTar], message: /^kiln: unknown --compression "lz4"$/m },
    { args: ['import', '--change', 'RUN true', f.dockerTar], message: /^kiln: invalid --change "RUN true": RUN cannot be changed this way$/m },
    { args: ['build', '--progress', 'fancy', f.ctx], message: /^kiln: unknown --progress "fancy"$/m },
    { args: ['build', '--network', 'bridge', f.ctx], message: /^kiln: unknown --network "bridge"$/m },
    { args: ['build', '--jobs', '0', f.ctx], message: /^kiln: --jobs must be a positive integer, not "0"$/m },
    { args: ['build', '--jobs', 'lots', f.ctx], message: /^kiln: --jobs must be a positive integer, not "lots"$/m },
    { args: ['build', '--allow', 'root', f.ctx], message: /^kiln: unknown entitlement "root"$/m },
    { args: ['build', '--build-arg', '=1', f.ctx], message: /^kiln: --build-arg "=1" is not KEY=VALUE$/m },
    { args: ['build', '--label', '=novalue', f.ctx], message: /^kiln: --label "=novalue" is not KEY=VALUE$/m },
    { args: ['build', '-q', '--progress', 'plain', f.ctx], message: /^kiln: --progress plain and --quiet cannot be used together$/m },
    { args: ['build', '--secret', 'id=s,srcc=/x', f.ctx], message: /^kiln: invalid --secret "id=s,srcc=\/x": unexpected key "srcc"$/m },
    { args: ['build', '--secret', 'id=s,type=ssh', f.ctx], message: /^kiln: invalid --secret "id=s,type=ssh": unsupported secret type "ssh"$/m },
    { args: ['build', '--build-context', `Extra=${f.ctx}`, f.ctx], message: /^kiln: invalid --build-context name "Extra": repository name must be lowercase$/m },
    { args: ['build', '--secret', 'src=/x', f.ctx], message: /^kiln: invalid --secret "src=\/x": missing id$/m },
    { args: ['build', '--build-context', 'extra', f.ctx], message: /^kiln: --build-context "extra" is not NAME=VALUE$/m },
    { args: ['build', '--build-context', 'extra=git://x', f.ctx], message: /^kiln: --build-context extra=git:\/\/x: only directories, docker-image:\/\/ and oci-layout:\/\/ are supported$/m },
    { args: ['build', '-o', 'type=s3', f.ctx], message: /^kiln: --output: unknown type "s3"$/m },
    { args: ['build', '-o', 'type=local', f.ctx], message: /^kiln: --output type=local needs dest=PATH$/m },
    { args: ['build', '-o', 'type=local,dest=-', f.ctx], message: /^kiln: --output type=local cannot write to stdout/m },
    { args: ['build', '-o', '-', '-o', 'type=oci', f.ctx], message: /^kiln: multiple outputs configured to write to stdout$/m },
    { args: ['build', '-o', 'type=tar,dest=x,compression=zstd', f.ctx], message: /^kiln: --output: unsupported option "compression" for type tar$/m },
    { args: ['build', '-o', 'type=image,push=maybe', f.ctx], message: /^kiln: --output: push=maybe is not true or false$/m },
    { args: ['build', '--iidfile', join(f.out, 'iid'), '-o', `type=tar,dest=${join(f.out, 'fs.tar')}`, f.ctx], message: /^kiln: local and tar exporters are incompatible with image ID file$/m },
    { args: ['build', '--cache-to', 'type=s3', f.ctx], message: /^kiln: --cache-to "type=s3": cache type "s3" is not supported by kiln$/m },
    { args: ['build', '--cache-to', `type=local,dest=${f.out},mode=all`, f.ctx], message: /^kiln: --cache-to "\S+": mode=all is not min or max$/m },
    { args: ['build', '--cache-from', 'type=local', f.ctx], message: /^kiln: --cache-from "type=local": /m },
    { args: ['run', '--network', 'bridge', 'busybox', 'true'], message: /^kiln: unsupported network "bridge"$/m },
    { args: ['run', '--stop-timeout', 'soon', 'busybox', 'true'], message: /^kiln: kiln run: invalid --stop-timeout "soon"$/m },
    { args: ['run', '--cap-add', 'FLY', 'busybox', 'true'], message: /^kiln: unknown capability "FLY"$/m },
    { args: ['run', '-v', 'data:/data', 'busybox', 'true'], message: /^kiln: invalid volume "data:\/data": named volumes are not supported yet/m },
    { args: ['run', '-v', '/tmp:/data:rx', 'busybox', 'true'], message: /^kiln: invalid volume "\/tmp:\/data:rx"$/m },
    { args: ['run', '-v', `${f.file}/below:/data`, 'busybox', 'true'], message: /^kiln: cannot make volume source \S+: a part of the path is not a directory$/m },
    { args: ['run', '--bogus', 'busybox', 'true'], message: /^kiln: kiln run: Unknown option '--bogus'/m },
    { args: ['prune', '-f', '--keep-storage', 'lots'], message: /^kiln: invalid --keep-storage "lots"$/m },
    { args: ['prune', '-f', '--filter', 'until=soon'], message: /^kiln: invalid duration in filter "until=soon"$/m },
    { args: ['prune', '-f', '--filter', 'label=x'], message: /^kiln: unsupported prune filter "label=x"$/m },
    { args: ['prune'], message: /^kiln: prune needs confirmation, and stdin is not a terminal$/m },
    { args: ['du', '--format', 'yaml'], message: /^kiln: unknown --format "yaml"$/m },
    { args: ['history', '-H', 'maybe', 'busybox'], message: /^kiln: invalid -H "maybe": not a boolean$/m },
    { args: ['pull', '--platform', 'linux', 'localhost:1/x'], message: /^kiln: invalid platform "linux"$/m },
    { args: ['serve', '--log-format', 'xml'], message: /^kiln: unknown --log-format "xml"$/m },
    { args: ['login', 'localhost:1'], message: /^kiln: a user name is needed$/m },
    { args: ['images', '--bogus'], message: /^kiln: unknown option '--bogus'\nhint: see 'kiln images --help'$/m },
    { args: ['build'], message: /^kiln: missing required argument 'context'\nhint: see 'kiln build --help'$/m },
    { args: ['frobnicate'], message: /^kiln: unknown command 'frobnicate'\nhint: see 'kiln --help'$/m },
  ];
  await assertCases(t, cases);
});

test('a flag that crashed kiln: --no-cache-filter STAGE takes its value', async (t) => {
  const first = await builtKiln(f.root, ['build', '--progress', 'plain', f.ctx]);
  t.is(first.code, 0, first.stderr);
  const again = await builtKiln(f.root, ['build', '--progress', 'plain', '--no-cache-filter', 'stage-0', f.ctx]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /COPY a\.txt \/a\.txt\n(?!#\d+ CACHED)/, 'the stage ran again');
});

test('buildx list and key forms: --no-cache-filter A,B, --add-host A,B, --label KEY, BUILDKIT_PROGRESS; a stale --iidfile is removed', async (t) => {
  const first = await builtKiln(f.root, ['build', '--progress', 'plain', f.ctx]);
  t.is(first.code, 0, first.stderr);
  const again = await builtKiln(f.root, ['build', '--progress', 'plain', '--no-cache-filter', 'nosuch,stage-0', f.ctx]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /COPY a\.txt \/a\.txt\n(?!#\d+ CACHED)/, 'the stage named in a comma list ran again');
  const hosts = await builtKiln(f.root, ['build', '-q', '--add-host', 'a:10.0.0.1,b:10.0.0.2', f.ctx]);
  t.is(hosts.code, 0, hosts.stderr);
  const labelled = await builtKiln(f.root, ['build', '-q', '--label', 'flag', '-t', 'labelled:1', f.ctx]);
  t.is(labelled.code, 0, labelled.stderr);
  const labels = await builtKiln(f.root, ['inspect', '-f', '{{json .Config.Labels}}', 'labelled:1']);
  t.deepEqual(JSON.parse(labels.stdout), { flag: '' });
  // BUILDKIT_PROGRESS stands in for --progress auto (CI=true would make it plain anyway: ask for rawjson).
  const raw = await builtKiln(f.root, ['build', f.ctx], { env: { BUILDKIT_PROGRESS: 'rawjson' } });
  t.is(raw.code, 0, raw.stderr);
  t.regex(raw.stderr, /^\{"type":/m);
  const iid = join(f.dir, 'stale-iid');
  await writeFile(iid, 'sha256:stale');
  const failed = await builtKiln(f.root, ['build', '--iidfile', iid, '--target', 'nosuch', f.ctx]);
  t.is(failed.code, 1, failed.stderr);
  t.false(existsSync(iid), 'no --iidfile from an earlier build is left to be mistaken for this one');
});

test('bad image names and references, unknown images, commands that cannot start', async (t) => {
  const notFound = /^kiln: image "[^"]+" not found in the local store$/m;
  const invalid = /^kiln: invalid image reference "[^"]+": /m;
  const cases: Case[] = [
    { args: ['run', 'nosuch:1', 'true'], message: notFound },
    { args: ['inspect', 'nosuch:1'], message: notFound },
    { args: ['history', 'Bad Name'], message: notFound },
    { args: ['rmi', 'nosuch:1'], message: notFound },
    { args: ['image', 'rm', 'nosuch:1'], message: notFound },
    { args: ['save', 'nosuch:1'], message: notFound },
    { args: ['push', 'nosuch:1', 'localhost:1/x'], message: notFound },
    { args: ['tag', 'nosuch:1', 'x:1'], message: notFound },
    { args: ['tag', 'busybox', 'Bad Name'], message: invalid },
    { args: ['tag', 'busybox', 'a:b:c'], message: invalid },
    { args: ['tag', 'busybox', 'a@sha256:abc'], message: invalid },
    { args: ['pull', 'team/App:1'], message: invalid },
    { args: ['pull', 'busybox:no!tag'], message: invalid },
    { args: ['push', 'busybox', 'bad name'], message: invalid },
    { args: ['import', f.dockerTar, 'Bad Name'], message: invalid },
    { args: ['build', '-t', 'x:', f.ctx], message: invalid },
    { args: ['run', 'busybox', '/no/such/command'], code: 127, message: /^kiln: cannot start container: .*no such file or directory$/m },
    { args: ['run', 'busybox', '/etc/passwd'], code: 126, message: /^kiln: cannot start container: .*permission denied$/m },
  ];
  await assertCases(t, cases);
});

test('a state root that is a file, or on a read-only file system', async (t) => {
  const fileRoot = /^kiln: the kiln state root \S+text\.txt is not a directory$/m;
  const roRoot = /^kiln: cannot create the kiln state root at \S+: read-only file system$/m;
  const cases: Case[] = [];
  for (const args of [['images'], ['ps'], ['check'], ['du'], ['save', 'busybox'], ['pull', 'localhost:1/x'], ['login', '-u', 'u', '-p', 'p', 'localhost:1'], ['build', f.ctx], ['run', 'busybox', 'true']]) {
    cases.push({ args, root: f.file, message: fileRoot });
  }
  for (const args of [['images'], ['load', '-i', f.dockerTar], ['build', f.ctx]]) cases.push({ args, root: join(f.ro, 'root'), message: roRoot });
  await assertCases(t, cases);
  t.is(await readFile(f.file, 'utf8'), 'hello\n');
});

test('Ctrl-C in the middle of save -o, load and import leaves no partial file, temp file or session', async (t) => {
  t.timeout(5 * 60_000);
  const work = join(f.dir, 'interrupt');
  await mkdir(work);
  // Big enough that the work is under way when the signal comes: random bytes do not compress.
  await mkdir(join(work, 'tree'));
  await writeFile(join(work, 'tree', 'big.bin'), randomBytes(48 << 20));
  const rootfs = join(work, 'rootfs.tar');
  await run('tar', ['-C', join(work, 'tree'), '-cf', rootfs, '.']);
  const imported = await builtKiln(f.root, ['import', rootfs, 'big:1']);
  t.is(imported.code, 0, imported.stderr);
  const archive = join(work, 'big.tar');
  const saved = await builtKiln(f.root, ['save', '-o', archive, 'big:1']);
  t.is(saved.code, 0, saved.stderr);

  const tmp = join(f.root, 'tmp');
  const cases: { args: string[]; underWay: (pid: number) => Promise<boolean> }[] = [
    { args: ['save', '-o', join(work, 'out.tar'), 'big:1'], underWay: async (pid) => ((await stat(join(work, `out.tar.kiln-${pid}.tmp`)).catch(() => undefined))?.size ?? 0) > 0 },
    { args: ['load', '-i', archive], underWay: async (pid) => (await readdir(tmp)).some((n) => n.startsWith(`${pid}.blob.`)) },
    { args: ['import', rootfs, 'big:2'], underWay: async (pid) => (await readdir(tmp)).some((n) => n.startsWith(`${pid}.blob.`)) },
  ];
  for (const c of cases) {
    const child = spawnBuiltKiln(f.root, c.args);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let sent = false;
    while (!sent && child.exitCode === null) {
      if (await c.underWay(child.pid!)) sent = child.kill('SIGINT');
      else await new Promise((r) => setTimeout(r, 5));
    }
    const { code, signal } = await exited;
    t.true(sent, `${c.args[0]} was interrupted under way (it ended first: ${code} ${stderr})`);
    t.is(signal, 'SIGINT', `${c.args[0]} ends as Ctrl-C ends a program (shell: 130): ${code} ${stderr}`);
    t.notRegex(stderr, /^\s+at |internal error/m);
    t.deepEqual(await leftovers(work), [], `${c.args[0]} left no temp file beside its output`);
    t.false(existsSync(join(work, 'out.tar')));
    const check = await builtKiln(f.root, ['check']);
    t.is(check.code, 0, `kiln check after ${c.args[0]}: ${check.stdout}${check.stderr}`);
  }
  const names = await builtKiln(f.root, ['images']);
  t.notRegex(names.stdout, /^big\s+2\s/m, 'the interrupted import named nothing');
});
