import type { Descriptor, ImageIndex, Platform } from '../image/index.js';
import { RegistryError } from './errors.js';

export const DEFAULT_PULL_PLATFORM = 'linux/amd64';

/** Parses `os/arch[/variant]` as `--platform` takes it. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new RegistryError('E_REGISTRY_PLATFORM', `invalid platform "${text}"`, { hint: 'use os/arch or os/arch/variant, e.g. linux/arm64/v8' });
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Variants a platform implies when none is written (containerd's normalisation). */
function normalVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  if (p.architecture === 'arm') return 'v7';
  return undefined;
}

/**
 * The manifest of an index or manifest list for `platform`. Attestation manifests never match;
 * a requested variant must match (arm64 means v8 unless said otherwise); without a variant the
 * first entry for os/arch wins.
 */
export function selectPlatformManifest(index: ImageIndex, platform: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (m) => m.platform && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && m.platform.os === platform.os && m.platform.architecture === platform.architecture,
  );
  const wanted = normalVariant(platform);
  const exact = candidates.find((m) => normalVariant(m.platform!) === wanted);
  const picked = exact ?? (platform.variant ? undefined : candidates[0]);
  if (picked) return picked;
  const available = index.manifests
    .filter((m) => m.platform && m.platform.os !== 'unknown')
    .map((m) => formatPlatform(m.platform!))
    .join(', ');
  throw new RegistryError('E_REGISTRY_PLATFORM', `${what} has no image for platform ${formatPlatform(platform)}`, {
    hint: available ? `available platforms: ${available}; choose one with --platform` : undefined,
  });
}
