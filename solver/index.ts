/**
 * The build solver: Dockerfile -> stages -> steps run in parallel with cache reuse -> an image
 * in the store. Progress is published on node:diagnostics_channel (`kiln:build:vertex`); see
 * solver/progress.
 */
export { build, newBuildId, type BuildOptions, type BuildResult } from './build.js';
export { describeWarning } from './frontend/index.js';
export type { SharedSteps } from './scheduler.js';
export type { NamedContext } from './session.js';
export { BuildCancelledError, BuildError, StepFailedError, type StepFailure } from './errors.js';
export { checkOutputSpec, exportImage, layerPackingFor, makeOutputDir, parseOutputSpec, toFile, writeImageTar, type OutputSpec } from './outputs.js';
export * from './progress/index.js';
