/** The daemon's containers and Docker's multiplexed stream format. */
export { ContainerManager, type AttachOptions, type Container, type ContainerState, type CreateBody } from './manager.js';
export { frame, FrameReader, type StreamType } from './mux.js';
