// Public API of oci/image: OCI/Docker image documents, media types, digests, platforms.
export * from './types.js';
export * from './media-types.js';
export * from './digest.js';
export * from './platform.js';
