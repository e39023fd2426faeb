import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { existsSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../../common/errors.js';
import { systemReason } from '../../common/file-errors.js';
import { checkOutputFile, writeOutputFile } from '../../common/output-file.js';
import { OCI_LAYOUT_SCHEME, parseLayoutRef } from '../../oci/image/layout-dir.js';
import { checkBuildPlatforms } from '../../oci/image/platform.js';
import type { ArchivedManifest } from '../../oci/index.js';
import type { NamedContext, OutputSpec, ProgressMode } from '../../solver/index.js';
import type { SecretSource } from '../../runtime/index.js';
import { collect, globalOptions } from '../options.js';
import { addRegistryFlags, assertNoRegistryFlags, registryOptions } from './registry-flags.js';

interface BuildFlags {
  file?: string;
  tag?: string[];
  buildArg?: string[];
  target?: string;
  cache: boolean;
  /** --no-cache-filter: commander names a --no-X option X. */
  cacheFilter: string[];
  pull?: boolean;
  label?: string[];
  secret?: string[];
  network?: string;
  jobs?: string;
  progress: string;
  output?: string[];
  iidfile?: string;
  metadataFile?: string;
  buildContext?: string[];
  explain?: boolean;
  allow?: string[];
  quiet?: boolean;
  push?: boolean;
  cacheTo?: string[];
  cacheFrom?: string[];
  addHost?: string[];
  platform?: string[];
  load?: boolean;
  provenance?: string | boolean;
  sbom?: string | boolean;
  ssh?: string[];
}

const usage = (message: string, hint?: string) => new KilnError('E_USAGE', message, hint ? { hint } : {});

/**
 * KEY=VALUE flags as buildx's listToMap reads them: an empty KEY is an error; a bare KEY takes its
 * value from the environment (--build-arg, and is left out when the variable is unset) or is
 * empty (--label).
 */
function keyValues(list: string[] | undefined, flag: string, fromEnv: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i === 0 || item === '') throw usage(`${flag} "${item}" is not KEY=VALUE`, fromEnv ? `give ${flag} KEY=VALUE, or ${flag} KEY to take the value of KEY from the environment` : `give ${flag} KEY=VALUE, or ${flag} KEY for an empty value`);
    if (i > 0) out.set(item.slice(0, i), item.slice(i + 1));
    else if (!fromEnv) out.set(item, '');
    else if (process.env[item] !== undefined) out.set(item, process.env[item]!);
  }
  return out;
}

/** A flag buildx declares as a string slice (--add-host, --no-cache-filter): repeatable and comma-separated. */
function commaList(list: readonly string[] | undefined): string[] {
  return (list ?? []).flatMap((l) => l.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** Go's strconv.ParseBool, false for anything it refuses (as buildx reads BUILDKIT_INLINE_CACHE). */
function goTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/** The first bytes of an archive (tar, or gzip, bzip2, xz, zstd), which buildx takes on stdin as the build context. */
function looksLikeArchive(b: Buffer): boolean {
  const magics = [[0x1f, 0x8b], [0x42, 0x5a, 0x68], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], [0x28, 0xb5, 0x2f, 0xfd]];
  if (magics.some((m) => m.every((x, i) => b[i] === x))) return true;
  return b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * --build-arg values, with SOURCE_DATE_EPOCH from the environment when no --build-arg gives it,
 * as docker buildx passes it: the build's times come from it, and `ARG SOURCE_DATE_EPOCH` sees it.
 */
function buildArgs(list: string[] | undefined): Map<string, string> {
  const out = keyValues(list, '--build-arg', true);
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (!out.has('SOURCE_DATE_EPOCH') && epoch) out.set('SOURCE_DATE_EPOCH', epoch);
  return out;
}

/**
 * `Dockerfile` in the context, or `dockerfile` when only that is there; the same for a `-f` path
 * whose name is `Dockerfile` (buildx's handleLowercaseDockerfile).
 */
function lowercaseFallback(upper: string): string {
  if (basename(upper) !== 'Dockerfile') return upper;
  const lower = join(dirname(upper), 'dockerfile');
  return !existsSync(upper) && existsSync(lower) ? lower : upper;
}

function defaultDockerfile(contextDir: string): string {
  return lowercaseFallback(join(contextDir, 'Dockerfile'));
}

/** `--platform`, repeatable and comma-separated as buildx takes it; DOCKER_DEFAULT_PLATFORM when none is given (buildx's flag default). */
function platformsOf(flags: BuildFlags): string[] {
  const given = flags.platform ?? (process.env.DOCKER_DEFAULT_PLATFORM ? [process.env.DOCKER_DEFAULT_PLATFORM] : []);
  return given.flatMap((l) => l.split(',')).map((p) => p.trim());
}

const BUILD_CONTEXT_HINT = 'give --build-context NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG]';

/** An oci-layout:// context with its directory made absolute, as the solver reads it wherever it runs. */
function layoutContext(value: string): string {
  const ref = parseLayoutRef(value);
  return `${OCI_LAYOUT_SCHEME}${ref.dir}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/**
 * A --build-context NAME as buildx's ParseContextNames takes it: a reference, in its familiar form
 * without `:latest`, so `docker.io/library/alpine` and `alpine:latest` both name `FROM alpine`.
 */
function contextName(name: string, familiarName: (input: string) => string): string {
  try {
    return familiarName(name).replace(/:latest$/, '');
  } catch (e) {
    throw usage(`invalid --build-context name "${name}": ${(e as Error).message.replace(/^invalid image reference "[^"]*": /, '')}`, BUILD_CONTEXT_HINT);
  }
}

function namedContexts(list: string[] | undefined, familiarName: (input: string) => string): Map<string, NamedContext> {
  const out = new Map<string, NamedContext>();
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw usage(`--build-context "${item}" is not NAME=VALUE`, BUILD_CONTEXT_HINT);
    const name = contextName(item.slice(0, i), familiarName);
    const value = item.slice(i + 1);
    if (value.startsWith('docker-image://')) out.set(name, { kind: 'image', ref: value.slice('docker-image://'.length) });
    else if (value.startsWith(OCI_LAYOUT_SCHEME)) out.set(name, { kind: 'image', ref: layoutContext(value) });
    else if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) throw usage(`--build-context ${item}: only directories, docker-image:// and oci-layout:// are supported`, BUILD_CONTEXT_HINT);
    else out.set(name, { kind: 'dir', path: resolve(value) });
  }
  return out;
}

export function register(program: Command): void {
  const command = program
    .command('build')
    .description('Build an image from a Dockerfile')
    .argument('<context>', 'build context directory, or - to read a Dockerfile from stdin with no context')
    .option('-f, --file <file>', 'Dockerfile (default: CONTEXT/Dockerfile; - for stdin)')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect)
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect)
    .option('--target <stage>', 'build this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('--no-cache-filter <stage>', 'do not use the cache for this stage (repeatable)', collect, [])
    .option('--pull', 'always look for newer base images')
    .option('--label <key=value>', 'set an image label (repeatable)', collect)
    .option('--secret <spec>', 'id=ID,src=FILE or id=ID,env=VAR (repeatable)', collect)
    .option('--network <mode>', 'network for RUN steps: default, host or none')
    .option('--add-host <host:ip>', 'add a line to the /etc/hosts of RUN steps (repeatable)', collect)
    .option('--platform <os/arch>', 'the platform to build for: only this machine\'s (repeatable, or comma-separated, as buildx takes it)', collect)
    .option('--load', 'keep the image in the local store (what kiln does unless -o sends it elsewhere; as --output type=image)')
    .option('--provenance [value]', 'kiln makes no provenance attestations: false is what it does anyway, anything else is a warning')
    .option('--sbom [value]', 'kiln makes no SBOM attestations: false is what it does anyway, anything else is a warning')
    .option('--ssh <spec>', 'not supported yet: kiln forwards no SSH agent (refused, so a build needing one fails clearly)', collect)
    .option('--jobs <n>', 'steps run at once (default: max(4, cores))')
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet', 'auto')
    .option('-o, --output <spec>', 'type=image|oci|docker|local|tar,dest=PATH; image and oci also take compression=gzip|zstd|uncompressed,compression-level=N,force-compression=true (repeatable)', collect)
    .option('--iidfile <file>', 'write the image id to this file')
    .option('--metadata-file <file>', 'write build result metadata (JSON) to this file')
    .option('--build-context <name=value>', 'NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG|@DIGEST] (repeatable)', collect)
    .option('--explain', 'say why the cache missed for every step that ran')
    .option('--allow <entitlement>', 'grant an entitlement: security.insecure lets RUN --security=insecure run unconfined (repeatable)', collect)
    .option('-q, --quiet', 'print only the image id')
    .option('--push', 'push the image to the registry of each -t name (as --output type=registry)')
    .option('--cache-to <spec>', 'export the build cache: type=registry,ref=REF|type=local,dest=DIR[,mode=min|max][,mounts=true], or type=inline (repeatable)', collect)
    .option('--cache-from <spec>', 'import a build cache: type=registry,ref=REF (or REF) or type=local,src=DIR (repeatable)', collect);
  addRegistryFlags(command).action(async (contextArg: string, flags: BuildFlags, cmd: Command) => {
    const { root, host, tls } = globalOptions(cmd);
    if (host === undefined) {
      const { checkPrivileges } = await import('../../runtime/index.js');
      checkPrivileges();
    } else {
      assertNoRegistryFlags(cmd);
    }
    // As buildx: repeatable and comma-separated. RUN --network=host needs no entitlement in kiln, so network.host grants nothing more.
    const allow = (flags.allow ?? []).flatMap((a) => a.split(','));
    for (const a of allow) if (a !== 'security.insecure' && a !== 'network.host') throw usage(`unknown entitlement "${a}"`, 'use security.insecure or network.host');
    // As buildx: -q goes with --progress auto or quiet only, and BUILDKIT_PROGRESS stands in for auto.
    if (flags.quiet && flags.progress !== 'auto' && flags.progress !== 'quiet') throw usage(`--progress ${flags.progress} and --quiet cannot be used together`, 'drop one of them');
    const fromEnv = flags.progress === 'auto' && !flags.quiet ? process.env.BUILDKIT_PROGRESS || undefined : undefined;
    const progress = (flags.quiet ? 'quiet' : fromEnv ?? flags.progress) as ProgressMode;
    if (!['auto', 'tty', 'plain', 'rawjson', 'quiet'].includes(progress)) throw usage(fromEnv ? `unknown BUILDKIT_PROGRESS "${fromEnv}"` : `unknown --progress "${flags.progress}"`, 'use auto, tty, plain, rawjson or quiet');
    if (flags.network !== undefined && !['default', 'host', 'none'].includes(flags.network)) throw usage(`unknown --network "${flags.network}"`, 'use default, host or none');
    // Through a daemon, the daemon's platform is the one: it checks.
    if (host === undefined) checkBuildPlatforms(platformsOf(flags));
    if (flags.ssh?.length) throw usage('--ssh is not supported yet: kiln forwards no SSH agent to RUN --mount=type=ssh', 'fetch private sources with a --secret (e.g. a deploy token) instead');
    for (const [flag, value] of [['--provenance', flags.provenance], ['--sbom', flags.sbom]] as const) {
      if (value !== undefined && !/^(false|0)$/i.test(String(value))) process.stderr.write(`WARNING: ${flag}: kiln makes no attestations; the image has none\n`);
    }
    const { parseExtraHost } = await import('../../runtime/extra-hosts.js');
    flags.addHost = commaList(flags.addHost);
    flags.cacheFilter = commaList(flags.cacheFilter);
    // As buildx: --build-arg BUILDKIT_INLINE_CACHE=1 is --cache-to type=inline.
    if (goTrue(buildArgs(flags.buildArg).get('BUILDKIT_INLINE_CACHE'))) flags.cacheTo = [...(flags.cacheTo ?? []), 'type=inline'];
    const { familiarName } = await import('../../oci/index.js');
    const contexts = namedContexts(flags.buildContext, familiarName);
    const extraHosts = flags.addHost.map(parseExtraHost);
    const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
    if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw usage(`--jobs must be a positive integer, not "${flags.jobs}"`, 'e.g. --jobs 4');

    // As buildx's loadInputs: stdin is the Dockerfile or the context, never both, and a context path is a directory.
    if (contextArg === '-' && flags.file === '-') throw usage("can't use stdin for both build context and Dockerfile", 'give the Dockerfile on stdin with -f - and a context directory, or `kiln build - < Dockerfile` with no context');
    const fromStdin = contextArg === '-' || flags.file === '-';
    const contextDir = contextArg === '-' ? undefined : resolve(contextArg);
    if (contextDir !== undefined && !statSync(contextDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new KilnError('E_CONTEXT_NOT_FOUND', `unable to prepare context: path "${contextDir}" not found or not a directory`, { hint: 'pass the directory holding the files your Dockerfile copies (often ".")' });
    }
    const dockerfilePath = fromStdin ? undefined : resolve(flags.file === undefined ? defaultDockerfile(contextDir!) : lowercaseFallback(flags.file));
    let dockerfile: string;
    try {
      if (fromStdin) {
        const bytes = await buffer(process.stdin);
        if (contextArg === '-' && looksLikeArchive(bytes)) throw usage('a build context from stdin (a tar archive) is not supported yet', 'extract it and give its directory as the context');
        if (contextArg === '-' && flags.file !== undefined) throw usage('ambiguous Dockerfile source: both stdin and -f give a Dockerfile', 'drop -f, or give a context directory instead of -');
        dockerfile = bytes.toString('utf8');
      } else {
        dockerfile = await readFile(dockerfilePath!, 'utf8');
      }
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw new KilnError('E_BUILD_DOCKERFILE', `cannot read the Dockerfile ${dockerfilePath}: ${systemReason(e)}`, { cause: e, hint: 'give its path with -f FILE' });
    }
    await checkResultFiles(flags);

    if (host !== undefined) return buildOnDaemon(flags, { root, host, tls, progress, jobs, contextDir, dockerfile, dockerfilePath, fromStdin, contexts, allowInsecure: allow.includes('security.insecure') });

    const { parseSecretFlag, readSecret } = await import('../../runtime/index.js');
    const secrets = new Map<string, SecretSource>();
    for (const s of flags.secret ?? []) {
      const src = parseSecretFlag(s);
      // As BuildKit's secret store: a secret file that cannot be read fails the build before it starts.
      if (src.file !== undefined) await readSecret(src);
      secrets.set(src.id, src);
    }
    const solver = await import('../../solver/index.js');
    const { outputs, tags } = await buildOutputs(flags);
    const cacheLib = await import('../../cache/index.js');
    const cacheTo = (flags.cacheTo ?? []).map(cacheLib.parseCacheTo);
    const cacheFrom = (flags.cacheFrom ?? []).map(cacheLib.parseCacheFrom);
    const registry = await registryOptions(cmd, root);
    // Embedded, every registry is reached with the same options, and its credentials come from the docker config.
    const registryFor = () => registry;
    const renderer = progressRenderer(solver, progress, flags);
    const buildId = solver.newBuildId();
    const unsubscribe = solver.subscribe(buildId, (ev) => renderer.onEvent(ev));
    const imported = await cacheLib.loadCacheImports(cacheFrom, registryFor);
    for (const w of imported.warnings) process.stderr.write(`WARNING: ${w}\n`);
    const { caches } = imported;
    const cache = cacheTo.length > 0 || caches.length > 0 ? new cacheLib.BuildCache(caches, { inline: cacheTo.some((c) => c.type === 'inline') }) : undefined;
    const store = await cacheLib.openStore(root);
    const abort = new AbortController();
    const onSignal = () => abort.abort(new KilnError('E_BUILD_CANCELLED', 'interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await solver.build({
        stateRoot: root,
        layerPacking: solver.layerPackingFor(outputs),
        store,
        dockerfile,
        dockerfileName: fromStdin ? '-' : flags.file ?? basename(dockerfilePath!),
        ...(dockerfilePath ? { dockerfilePath } : {}),
        ...(contextDir ? { contextDir } : {}),
        buildArgs: buildArgs(flags.buildArg),
        ...(flags.target ? { target: flags.target } : {}),
        noCache: flags.cache === false,
        noCacheFilter: flags.cacheFilter,
        extraHosts,
        pull: Boolean(flags.pull),
        pullOptions: registryFor,
        labels: Object.fromEntries(keyValues(flags.label, '--label', false)),
        secrets,
        allowInsecure: allow.includes('security.insecure'),
        ...(flags.network ? { network: flags.network as 'default' | 'host' | 'none' } : {}),
        ...(jobs ? { jobs } : {}),
        tags,
        namedContexts: contexts,
        signal: abort.signal,
        buildId,
        ...(cache ? { cache } : {}),
      });
      renderer.finish();
      const { normalizeReference } = await import('../../oci/index.js');
      const archiveNames = (flags.tag ?? []).map(normalizeReference);
      let pushed: BuiltImage['pushed'];
      let archived: BuiltImage['archived'];
      let names: string[] | undefined;
      for (const o of outputs) {
        const oNames = outputNames(o, archiveNames, normalizeReference);
        if (o.type === 'oci' || o.type === 'docker') names ??= oNames;
        const exported = await solver.exportImage(store, result, o, oNames, registryFor);
        for (const p of exported.pushed) {
          process.stderr.write(`pushed ${p.reference}@${p.manifestDigest}\n`);
          pushed ??= { manifestDigest: p.manifestDigest, manifestMediaType: p.manifestMediaType };
        }
        archived ??= exported.archived;
      }
      if (cache) {
        const { exported, warnings } = await cacheLib.exportCaches(cache, result, cacheTo, registryFor);
        for (const r of exported) process.stderr.write(`exported cache to ${r.name}: ${r.records} records${r.mounts ? `, ${r.mounts} cache mounts` : ''} (${r.manifestDigest})\n`);
        for (const w of warnings) process.stderr.write(`WARNING: ${w}\n`);
      }
      await reportResult(flags, progress, { ...result, manifestMediaType: result.manifest.mediaType, checks: result.warnings.map(solver.describeWarning), ...(pushed ? { pushed } : {}), ...(archived ? { archived } : {}), ...(names ? { archiveNames: names } : {}), rootfsOnly: rootfsOnly(outputs) });
      // The image is built whatever happens here: a failed GC is worth a warning, not a failed build.
      await cacheLib.maintainAfterBuild(store, result.cacheHits).catch((e: unknown) => {
        process.stderr.write(`WARNING: garbage collection after the build failed: ${(e as Error).message}\n`);
      });
    } finally {
      for (const w of cache?.warnings ?? []) process.stderr.write(`WARNING: ${w}\n`);
      await cache?.close();
      renderer.finish();
      unsubscribe();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      store.close();
    }
  });
}

interface BuiltImage {
  configDigest: string;
  manifestDigest: string;
  manifestMediaType: string | undefined;
  /**
   * The manifest a push sent: its layers compressed, where the store keeps them plain, so its
   * digest is the one to pull by (BuildKit's `containerimage.digest` is the pushed one too).
   */
  pushed?: { manifestDigest: string; manifestMediaType: string };
  /** The manifest an OCI archive output holds, naming its compressed layers: the digest that archive knows the image by. */
  archived?: ArchivedManifest;
  tags: string[];
  /** The names an OCI or docker archive output was given (the -t names, else its name=). */
  archiveNames?: string[];
  /** Every output was a directory or tar of the root filesystem: no image left the build. */
  rootfsOnly?: boolean;
  stats: { ran: number; cached: number };
  /** The Dockerfile's check warnings, described (solver's describeWarning). */
  checks?: string[];
}

/**
 * What a build writes, the same embedded or on a daemon: each --output, checked before anything is
 * built, then --push; and the -t names the image gets in the store (none when it goes elsewhere).
 */
async function buildOutputs(flags: BuildFlags): Promise<{ outputs: OutputSpec[]; tags: string[] }> {
  const { checkOutputSpec, parseOutputSpec } = await import('../../solver/index.js');
  const outputs = (flags.output ?? []).map(parseOutputSpec);
  // As buildx's CreateExports: one output at most on stdout, and never an archive on a terminal.
  const toStdout = outputs.filter((o) => o.dest === '-');
  if (toStdout.length > 1) throw usage('multiple outputs configured to write to stdout', 'give all but one of them dest=FILE');
  if (toStdout.length === 1 && process.stdout.isTTY) throw usage(`dest file is required for a type=${toStdout[0]!.type} output: refusing to write to the terminal`, `give dest=FILE, or redirect stdout (> FILE)`);
  for (const o of outputs) await checkOutputSpec(o);
  // As buildx: --push is push=true on the image outputs given, or a new one; --load an image output.
  const images = outputs.filter((o) => o.type === 'image');
  if (flags.push) {
    if (images.length > 0) for (const o of images) o.push = true;
    else outputs.push({ type: 'image', push: true });
  }
  if (flags.load && !outputs.some((o) => o.type === 'image')) outputs.push({ type: 'image' });
  if (outputs.some((o) => o.push && !o.name) && !flags.tag?.length) throw usage('pushing needs a name for the image', 'give -t NAME:TAG, or --output type=image,name=NAME:TAG,push=true');
  // buildx (build.toSolveOpt): a root filesystem has no image id to write.
  if (flags.iidfile && outputs.some((o) => o.type === 'local' || o.type === 'tar')) throw usage('local and tar exporters are incompatible with image ID file', 'drop --iidfile, or export an image (-o type=oci|docker|image)');
  // The -t names are the store's image's: none when every output sends it elsewhere.
  return { outputs, tags: outputs.length === 0 || outputs.some((o) => o.type === 'image') ? (flags.tag ?? []) : [] };
}

/**
 * The names an archive output (`-o type=oci|docker`) gives the image: the -t names when there are
 * any (buildx sets every image/oci/docker exporter's name= from the tags), else its own `name=`
 * (comma-separated, as BuildKit's exporter splits it).
 */
function outputNames(o: OutputSpec, tagNames: string[], normalize: (ref: string) => string): string[] {
  if (tagNames.length > 0 || !o.name) return tagNames;
  return o.name.split(',').map((n) => n.trim()).filter((n) => n !== '').map(normalize);
}

/** Whether every output is a directory or tar of the root filesystem (none when the image goes to the store). */
function rootfsOnly(outputs: readonly OutputSpec[]): boolean {
  return outputs.length > 0 && outputs.every((o) => o.type === 'local' || o.type === 'tar');
}

/** The files reportResult writes after the build: a path they cannot have fails before it. */
async function checkResultFiles(flags: BuildFlags): Promise<void> {
  if (flags.iidfile) {
    await checkOutputFile(flags.iidfile, '--iidfile');
    // As buildx: an --iidfile from an earlier build is removed first, so a failed build leaves none to be mistaken for its result.
    const st = statSync(flags.iidfile, { throwIfNoEntry: false });
    if (st?.isFile()) rmSync(flags.iidfile, { force: true });
  }
  if (flags.metadataFile) await checkOutputFile(flags.metadataFile, '--metadata-file');
}

/** The progress display on stderr, the same whether the build runs embedded or on a daemon. */
function progressRenderer(solver: typeof import('../../solver/index.js'), progress: ProgressMode, flags: BuildFlags) {
  return solver.createRenderer(progress, {
    write: (s) => process.stderr.write(s),
    explain: Boolean(flags.explain),
    isTTY: Boolean(process.stderr.isTTY),
    ci: Boolean(process.env.CI) && process.env.CI !== 'false',
  });
}

/** The files and lines a finished build leaves, the same whether it ran embedded or on a daemon. */
async function reportResult(flags: BuildFlags, progress: ProgressMode, result: BuiltImage): Promise<void> {
  if (flags.iidfile) await writeOutputFile(flags.iidfile, '--iidfile', result.configDigest);
  if (flags.metadataFile) {
    const manifest = result.pushed ?? result.archived ?? result;
    // BuildKit's local and tar exporters answer with no image keys: no image left the build.
    const meta = result.rootfsOnly
      ? {}
      : {
          'containerimage.digest': manifest.manifestDigest,
          'containerimage.config.digest': result.configDigest,
          'containerimage.descriptor': { mediaType: manifest.manifestMediaType, digest: manifest.manifestDigest },
          // BuildKit's exporters answer image.name with the names they gave the image: an archive's too.
          ...(result.tags.length ? { 'image.name': result.tags.join(',') } : result.archiveNames?.length ? { 'image.name': result.archiveNames.join(',') } : {}),
        };
    await writeOutputFile(flags.metadataFile, '--metadata-file', `${JSON.stringify(meta, null, 2)}\n`);
  }
  if (progress === 'quiet') process.stdout.write(`${result.configDigest}\n`);
  else if (progress !== 'rawjson') {
    // As buildx: check warnings after the build's output, none in quiet or rawjson mode.
    for (const c of result.checks ?? []) process.stderr.write(`WARNING: ${c}\n`);
    process.stderr.write(`writing image ${result.configDigest} (${result.stats.ran} steps ran, ${result.stats.cached} cached)\n`);
    for (const t of result.tags) process.stderr.write(`naming to ${t}\n`);
  }
}

interface DaemonBuild {
  root: string;
  host: string;
  tls: { ca?: string; cert?: string; key?: string };
  progress: ProgressMode;
  jobs: number | undefined;
  contextDir: string | undefined;
  dockerfile: string;
  dockerfilePath: string | undefined;
  fromStdin: boolean;
  contexts: Map<string, NamedContext>;
  allowInsecure: boolean;
}

/**
 * The build on a daemon: it pushes and exchanges caches with registries itself (with the client's
 * credentials), while archive and directory outputs come back to the client, which writes them
 * where an embedded build would. Secrets go to the daemon for this build only.
 */
async function buildOnDaemon(flags: BuildFlags, b: DaemonBuild): Promise<void> {
  const client = await import('../../client/index.js');
  const solver = await import('../../solver/index.js');
  const cacheLib = await import('../../cache/index.js');
  const { applyLayer, layerExportFields, normalizeReference, parseReference } = await import('../../oci/index.js');
  const { parseSecretFlag, readSecret } = await import('../../runtime/index.js');
  const { outputs, tags } = await buildOutputs(flags);
  const cacheFrom = (flags.cacheFrom ?? []).map(cacheLib.parseCacheFrom);
  const cacheTo = (flags.cacheTo ?? []).map(cacheLib.parseCacheTo);
  if ([...cacheFrom, ...cacheTo].some((c) => c.type === 'local')) {
    throw usage('a type=local cache does not work with --host: the directory is on this machine, the build on the daemon', 'use a registry cache (type=registry,ref=...) or type=inline, or build without --host');
  }
  const secrets = new Map<string, Buffer>();
  for (const s of flags.secret ?? []) {
    const src = parseSecretFlag(s);
    secrets.set(src.id, await readSecret(src));
  }
  const contextDirs = new Map<string, string>();
  const imageContexts: Record<string, string> = {};
  for (const [name, c] of b.contexts) {
    if (c.kind === 'dir') contextDirs.set(name, c.path);
    else if (c.ref.startsWith(OCI_LAYOUT_SCHEME)) throw usage(`--build-context ${name}=${c.ref}: an OCI layout is read where the build runs, and a daemon cannot read this machine's directories`, 'load it first (tar the layout, then `kiln --host ... load -i FILE`) and give NAME=docker-image://REF, or build without --host');
    else imageContexts[name] = c.ref;
  }
  const imageOutputs = outputs.flatMap((o) => (o.type === 'image' ? [{ ...(o.name ? { name: o.name } : {}), ...(o.layers ? { layers: layerExportFields(o.layers) } : {}), push: Boolean(o.push) }] : []));
  const pushed = imageOutputs.filter((o) => o.push).flatMap((o) => (o.name ? [o.name] : tags));
  const cacheRefs = [...cacheFrom, ...cacheTo].flatMap((c) => (c.type === 'registry' ? [c.ref] : []));
  const daemon = new client.DaemonClient({ host: b.host, tls: b.tls });
  const renderer = progressRenderer(solver, b.progress, flags);
  const store = await cacheLib.openStore(b.root);
  try {
    const result = await client.remoteBuild(daemon, {
      contextDir: b.contextDir,
      dockerfile: b.dockerfile,
      dockerfileName: b.fromStdin ? '-' : flags.file ?? basename(b.dockerfilePath!),
      ...(b.dockerfilePath ? { dockerfilePath: b.dockerfilePath } : {}),
      settings: {
        tags,
        buildArgs: Object.fromEntries(buildArgs(flags.buildArg)),
        ...(flags.target ? { target: flags.target } : {}),
        noCache: flags.cache === false,
        noCacheFilter: flags.cacheFilter,
        ...(flags.addHost?.length ? { extraHosts: flags.addHost } : {}),
        ...(platformsOf(flags).length ? { platforms: platformsOf(flags) } : {}),
        pull: Boolean(flags.pull),
        labels: Object.fromEntries(keyValues(flags.label, '--label', false)),
        ...(flags.network ? { network: flags.network as 'default' | 'host' | 'none' } : {}),
        ...(b.jobs ? { jobs: b.jobs } : {}),
        explainIdentity: [hostname(), b.contextDir ?? '-', b.dockerfilePath ?? '-'].join('\0'),
        imageOutputs,
        cacheFrom: flags.cacheFrom ?? [],
        cacheTo: flags.cacheTo ?? [],
        allowInsecure: b.allowInsecure,
        imageContexts,
      },
      contextDirs,
      secrets,
      registries: [...pushed, ...cacheRefs].map((r) => parseReference(r).registry),
      store,
      onEvent: (ev) => renderer.onEvent(ev),
      onMessage: (line) => process.stderr.write(`${line}\n`),
      onWarning: (w) => process.stderr.write(`WARNING: ${w}\n`),
    });
    renderer.finish();
    if (b.progress !== 'quiet' && b.progress !== 'rawjson') process.stderr.write(`sent build context to ${b.host}: ${result.sent.files} files, ${result.sent.bytes} bytes\n`);
    const archiveNames = (flags.tag ?? []).map(normalizeReference);
    let archived: BuiltImage['archived'];
    let names: string[] | undefined;
    for (const o of outputs) {
      if (o.type === 'image') continue;
      const oNames = outputNames(o, archiveNames, normalizeReference);
      if (o.type === 'oci' || o.type === 'docker') names ??= oNames;
      const exported = await client.exportImage(daemon, result.manifestDigest, o.type === 'local' ? 'tar' : o.type, oNames, o.layers ? layerExportFields(o.layers) : {});
      if (o.type === 'local') {
        await solver.makeOutputDir(o.dest!);
        await applyLayer(exported.stream, o.dest!);
      } else {
        await solver.toFile(o.dest!, (out) => pipeline(exported.stream, out));
      }
      archived ??= exported.manifest;
    }
    await reportResult(flags, b.progress, { ...result, ...(archived ? { archived } : {}), ...(names ? { archiveNames: names } : {}), rootfsOnly: rootfsOnly(outputs) });
  } finally {
    renderer.finish();
    store.close();
  }
}
