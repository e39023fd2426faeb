import diagnostics_channel from 'node:diagnostics_channel';

/** The channel every build publishes its vertex events on. */
export const VERTEX_CHANNEL = 'kiln:build:vertex';

interface EventBase {
  /** Distinguishes builds running in one process. */
  build: string;
  /** Vertex number within the build, 1-based, like BuildKit's `#N`. */
  vertex: number;
  /** Milliseconds since the epoch. */
  time: number;
}

export type VertexEvent =
  | (EventBase & {
      type: 'start';
      /** `[stage 2/5] RUN make`. */
      name: string;
      stage: string;
      /** Why the cache missed (`--explain`): "first build", "build arg FOO changed", ... */
      explain?: string[];
    })
  | (EventBase & { type: 'cached'; name: string; stage: string })
  | (EventBase & { type: 'complete'; durationMs: number })
  | (EventBase & { type: 'error'; message: string })
  | (EventBase & { type: 'log'; stream: 'stdout' | 'stderr'; data: string });

const channel = diagnostics_channel.channel(VERTEX_CHANNEL);

export function publish(event: VertexEvent): void {
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `fn` for every event of build `build` until the returned function is called. */
export function subscribe(build: string, fn: (event: VertexEvent) => void): () => void {
  const listener = (message: unknown) => {
    const ev = message as VertexEvent;
    if (ev.build === build) fn(ev);
  };
  diagnostics_channel.subscribe(VERTEX_CHANNEL, listener);
  return () => diagnostics_channel.unsubscribe(VERTEX_CHANNEL, listener);
}
