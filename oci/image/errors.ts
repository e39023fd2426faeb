import { KilnError, type KilnErrorOptions } from '../../common/errors.js';

/** A problem with an image archive or rootfs tarball the user handed us. */
export class ArchiveError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_ARCHIVE', message, options);
  }
}

/** An `--change` instruction kiln cannot apply. */
export class ChangeError extends KilnError {
  constructor(change: string, why: string, cause?: unknown) {
    super('E_CHANGE', `invalid --change "${change}": ${why}`, {
      cause,
      hint: 'supported: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, SHELL, STOPSIGNAL, USER, VOLUME, WORKDIR, in Dockerfile syntax',
    });
  }
}

/** A stored layer blob whose tar is not the one its image names: the store is damaged. */
export class CorruptLayerError extends KilnError {
  constructor(layer: string, actual: string, expected: string) {
    super('E_LAYER_CORRUPT', `layer ${layer} uncompresses to ${actual}, but the image config says ${expected}`, {
      hint: 'the stored image is inconsistent: run `kiln check --repair`, then pull, load or build it again',
    });
  }
}
