import { KilnError } from '../../common/errors.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

const NODE_TO_GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The platform of this host in OCI terms (Go's GOOS/GOARCH names). */
export function hostPlatform(): Platform {
  return { architecture: NODE_TO_GOARCH[process.arch] ?? process.arch, os: process.platform === 'win32' ? 'windows' : process.platform };
}

/**
 * `--platform`: kiln builds for the machine it runs on (no emulation), so a list naming only that
 * platform (or `local`) is accepted, as buildx would build it; any other is refused.
 */
export function checkBuildPlatforms(platforms: readonly string[]): void {
  const host = hostPlatform();
  const here = `${host.os}/${host.architecture}`;
  for (const p of platforms) {
    const parts = p.toLowerCase().split('/');
    // As containerd's platforms.Parse: one component is an OS (with this machine's architecture) or an architecture (with this machine's OS).
    if (parts.length === 1) {
      if (['linux', 'windows', 'darwin', 'freebsd'].includes(parts[0]!)) parts.push(host.architecture);
      else parts.unshift(host.os);
    }
    const [os, arch, variant] = parts;
    const normalized = ({ x86_64: 'amd64', aarch64: 'arm64' } as Record<string, string>)[arch ?? ''] ?? arch;
    if (p === 'local' || (os === host.os && normalized === host.architecture && (variant === undefined || variant === (host.variant ?? variant)))) continue;
    throw new KilnError('E_BUILD_PLATFORM', `cannot build for platform "${p}": kiln builds for this machine's platform only (${here})`, { hint: `drop --platform, or give --platform ${here}` });
  }
}

/** The manifest of an index that runs on `platform`, ignoring attestation manifests. */
export function selectManifest(index: ImageIndex, platform: Platform = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  return (
    candidates.find((m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture) ??
    (candidates.length === 1 && !candidates[0]!.platform ? candidates[0] : undefined)
  );
}
