// Public API of oci/: image references, image documents and archives, layers, registries.
export * from './image/index.js';
export * from './reference.js';
export * from './layer/index.js';
export * from './registry/index.js';
