import test from 'ava';
import { MediaType, type ImageIndex } from '../image/index.js';
import { RegistryError } from './errors.js';
import { parsePlatform, selectPlatformManifest } from './platform-select.js';

const d = (n: string) => `sha256:${n.repeat(64)}`;
const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: MediaType.ociManifest, digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: MediaType.ociManifest, digest: d('4'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: MediaType.ociManifest, digest: d('5'), size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
  ],
};

test('parsePlatform accepts os/arch and os/arch/variant only', (t) => {
  t.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  t.deepEqual(parsePlatform('Linux/AMD64'), { os: 'linux', architecture: 'amd64' });
  t.throws(() => parsePlatform('linux'), { instanceOf: RegistryError, code: 'E_REGISTRY_PLATFORM' } as never);
  t.throws(() => parsePlatform('linux//v7'));
});

test('selects by os, architecture and variant, with arm64 meaning v8', (t) => {
  t.is(selectPlatformManifest(index, parsePlatform('linux/amd64'), 'x').digest, d('1'));
  t.is(selectPlatformManifest(index, parsePlatform('linux/arm/v6'), 'x').digest, d('2'));
  t.is(selectPlatformManifest(index, parsePlatform('linux/arm'), 'x').digest, d('3'));
  t.is(selectPlatformManifest(index, parsePlatform('linux/arm64/v8'), 'x').digest, d('4'));
});

test('no match lists what is available and never picks an attestation', (t) => {
  const err = t.throws(() => selectPlatformManifest(index, parsePlatform('linux/s390x'), 'img:1'), { instanceOf: RegistryError });
  t.is(err?.message, 'img:1 has no image for platform linux/s390x');
  t.is(err?.hint, 'available platforms: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64; choose one with --platform');
  t.throws(() => selectPlatformManifest(index, parsePlatform('unknown/unknown'), 'x'));
});
