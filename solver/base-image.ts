import { DockerfileError, KilnError } from '../common/errors.js';
import { baseKey, ImageNotFoundError, type ResolvedImage } from '../cache/index.js';
import type { SourcePosition } from '../common/errors.js';
import { DEFAULT_PATH, hostPlatform, importLayoutImage, OCI_LAYOUT_SCHEME, parseLayoutRef, parseReference, pullImage, type ImageConfig } from '../oci/index.js';
import type { Instruction } from '../grammar/index.js';
import type { BuildSession, StageResult } from './session.js';

/** FROM scratch: no layers, and the config of BuildKit's emptyImage (WorkingDir / and the default PATH). */
export function scratchResult(): StageResult {
  const p = hostPlatform();
  const config: ImageConfig = { architecture: p.architecture, os: p.os, config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
  return { config, layers: [], key: baseKey(undefined) };
}

function positionOf(s: BuildSession, ins: Instruction): { position: SourcePosition; line: string | undefined } {
  const { line, column } = ins.range.start;
  return { position: { file: s.plan.file, line, column }, line: s.plan.lines[line - 1] };
}

const resolving = new WeakMap<BuildSession, Map<string, Promise<ResolvedImage>>>();

/**
 * An image for FROM or COPY --from: from the local store, pulled when missing (or always with
 * --pull). One resolution per reference and build.
 */
export function resolveImage(s: BuildSession, ref: string, ins: Instruction, platform?: string): Promise<ResolvedImage> {
  let cache = resolving.get(s);
  if (!cache) resolving.set(s, (cache = new Map()));
  let p = cache.get(ref);
  if (!p) {
    p = resolveUncached(s, ref, ins, platform);
    cache.set(ref, p);
  }
  return p;
}

async function resolveUncached(s: BuildSession, ref: string, ins: Instruction, platform?: string): Promise<ResolvedImage> {
  if (ref.startsWith(OCI_LAYOUT_SCHEME)) {
    try {
      return await importLayoutImage(s.store, parseLayoutRef(ref));
    } catch (e) {
      const { position, line } = positionOf(s, ins);
      throw new DockerfileError('E_BUILD_BASE_IMAGE', (e as Error).message, position, line, { cause: e, ...(e instanceof KilnError && e.hint ? { hint: e.hint } : {}) });
    }
  }
  let local: ResolvedImage | undefined;
  try {
    local = await s.store.resolveImage(ref);
  } catch (e) {
    if (!(e instanceof ImageNotFoundError)) throw e;
  }
  if (local && !s.pull) return local;
  try {
    await pullImage(s.store, ref, { ...s.pullOptions?.(parseReference(ref).registry), ...(platform ? { platform } : {}) });
  } catch (e) {
    const { position, line } = positionOf(s, ins);
    const why = (e as Error).message;
    const getFirst = `get it first with \`kiln pull ${ref}\`, \`kiln load -i FILE\` or \`kiln import ROOTFS.tar ${ref}\``;
    // The registry's own hint (--ca-file for a TLS failure, kiln login when refused) is the likelier fix.
    const registryHint = e instanceof KilnError ? e.hint : undefined;
    const hint = local
      ? `--pull could not refresh it, but "${ref}" exists in the local store: build without --pull to use the local image`
      : registryHint ? `${registryHint}; or ${getFirst}` : getFirst;
    throw new DockerfileError('E_BUILD_BASE_IMAGE', `image "${ref}" is not in the local store and could not be pulled: ${why}`, position, line, { cause: e, hint });
  }
  return s.store.resolveImage(ref);
}

export function imageResult(img: ResolvedImage): StageResult {
  return { config: img.config, layers: img.layers, key: baseKey(img.manifestDigest) };
}
