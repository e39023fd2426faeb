/** Build progress: vertex events on node:diagnostics_channel and the renderers that show them. */
export { VERTEX_CHANNEL, publish, subscribe, type VertexEvent } from './events.js';
export { createRenderer, PlainRenderer, QuietRenderer, RawJsonRenderer, TtyRenderer, type ProgressMode, type Renderer, type RendererOptions } from './renderers.js';
