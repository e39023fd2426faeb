import { KilnError } from '../common/errors.js';

/** An image reference, normalised the way docker does (`busybox` -> `docker.io/library/busybox:latest`). */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  readonly tag: string | undefined;
  /** Content digest (`sha256:...`) when the reference pins one. */
  readonly digest: string | undefined;
}

export class InvalidReferenceError extends KilnError {
  constructor(reference: string, why: string) {
    super('E_REFERENCE', `invalid image reference "${reference}": ${why}`, {
      hint: 'write it as [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST]: NAME in lowercase letters, digits and . _ - separators, e.g. registry.example.com/team/app:1.0',
    });
  }
}

export const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

// The grammar of distribution/reference, by parts.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const MAX_NAME = 255;

function isValidDomain(domain: string): boolean {
  const m = /^(.*?)(?::(\d+))?$/.exec(domain);
  const host = m?.[1] ?? '';
  if (IPV6.test(host)) return true;
  return host.length > 0 && host.split('.').every((label) => HOST_LABEL.test(label));
}

/** Splits `name` into registry and repository as docker's splitDockerDomain does. */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let domain: string;
  let rest: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_REGISTRY;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_REGISTRY) domain = DEFAULT_REGISTRY;
  if (domain === DEFAULT_REGISTRY && !rest.includes('/')) rest = OFFICIAL_PREFIX + rest;
  return [domain, rest];
}

export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw new InvalidReferenceError(input, 'empty reference');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(input, `invalid digest "${digest}"`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new InvalidReferenceError(input, 'a sha256 digest has 64 lowercase hex characters');
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, `invalid tag "${tag}"`);
  }
  const [registry, repository] = splitDomain(rest);
  if (registry !== DEFAULT_REGISTRY || rest.includes('/')) {
    if (!isValidDomain(registry)) throw new InvalidReferenceError(input, `invalid registry "${registry}"`);
  }
  if (repository.toLowerCase() !== repository) {
    throw new InvalidReferenceError(input, 'repository name must be lowercase');
  }
  if (!repository.split('/').every((c) => COMPONENT.test(c))) {
    throw new InvalidReferenceError(input, `invalid repository name "${repository}"`);
  }
  if (registry.length + 1 + repository.length > MAX_NAME) {
    throw new InvalidReferenceError(input, `repository name longer than ${MAX_NAME} characters`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, tag, digest };
}

/** `registry/repository` without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified form: `docker.io/library/busybox:latest`, `host:5000/a/b@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short form docker shows users: `busybox:latest`, `myorg/app:1`, `127.0.0.1:5000/x:y`. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository.startsWith(OFFICIAL_PREFIX) ? ref.repository.slice(OFFICIAL_PREFIX.length) : ref.repository;
  }
  let s = name;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short form docker shows (familiarReference) of a stored or user-typed name. */
export function familiarName(input: string): string {
  return familiarReference(parseReference(input));
}

/** Normalises any user-typed reference to its fully qualified form. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}
