import type { VertexEvent } from './events.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'rawjson' | 'quiet';

export interface Renderer {
  onEvent(event: VertexEvent): void;
  /** Flushes what is left (final tty frame). */
  finish(): void;
}

export interface RendererOptions {
  write: (s: string) => void;
  /** Print the cache-miss reason of every step that ran. */
  explain: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** BuildKit's plain output: `#N [stage k/n] RUN ...`, `#N CACHED`, `#N DONE 0.3s`. */
export class PlainRenderer implements Renderer {
  private readonly started = new Map<number, number>();
  private readonly partial = new Map<number, string>();

  constructor(private readonly opts: RendererOptions) {}

  onEvent(ev: VertexEvent): void {
    const w = this.opts.write;
    switch (ev.type) {
      case 'start':
        this.started.set(ev.vertex, ev.time);
        w(`#${ev.vertex} ${ev.name}\n`);
        if (this.opts.explain && ev.explain) for (const r of ev.explain) w(`#${ev.vertex} cache miss: ${r}\n`);
        break;
      case 'cached':
        w(`#${ev.vertex} ${ev.name}\n#${ev.vertex} CACHED\n`);
        break;
      case 'log': {
        const at = seconds(ev.time - (this.started.get(ev.vertex) ?? ev.time)).replace(/s$/, '');
        const text = (this.partial.get(ev.vertex) ?? '') + ev.data;
        const lines = text.split('\n');
        this.partial.set(ev.vertex, lines.pop()!);
        for (const l of lines) w(`#${ev.vertex} ${at} ${l}\n`);
        break;
      }
      case 'complete':
        this.flushPartial(ev.vertex);
        w(`#${ev.vertex} DONE ${seconds(ev.durationMs)}\n`);
        break;
      case 'error':
        this.flushPartial(ev.vertex);
        w(`#${ev.vertex} ERROR: ${ev.message}\n`);
        break;
    }
  }

  private flushPartial(vertex: number): void {
    const rest = this.partial.get(vertex);
    if (rest) this.opts.write(`#${vertex} ${rest}\n`);
    this.partial.delete(vertex);
  }

  finish(): void {}
}

/** One JSON object per event and line, for machines. */
export class RawJsonRenderer implements Renderer {
  constructor(private readonly opts: RendererOptions) {}
  onEvent(ev: VertexEvent): void {
    this.opts.write(`${JSON.stringify(ev)}\n`);
  }
  finish(): void {}
}

export class QuietRenderer implements Renderer {
  onEvent(): void {}
  finish(): void {}
}

interface TtyVertex {
  name: string;
  start: number;
  end?: number;
  state: 'running' | 'done' | 'cached' | 'error';
  tail: string[];
  explain?: string[];
}

/** A live tree of steps, redrawn in place: timings, CACHED marks and the tail of running steps' output. */
export class TtyRenderer implements Renderer {
  private readonly vertices = new Map<number, TtyVertex>();
  private drawn = 0;
  private finished = false;
  private readonly timer: NodeJS.Timeout;
  private readonly begin = Date.now();

  constructor(private readonly opts: RendererOptions) {
    this.timer = setInterval(() => this.draw(), 150);
    this.timer.unref();
  }

  onEvent(ev: VertexEvent): void {
    const v = this.vertices.get(ev.vertex);
    switch (ev.type) {
      case 'start':
        this.vertices.set(ev.vertex, { name: ev.name, start: ev.time, state: 'running', tail: [], ...(ev.explain ? { explain: ev.explain } : {}) });
        break;
      case 'cached':
        this.vertices.set(ev.vertex, { name: ev.name, start: ev.time, end: ev.time, state: 'cached', tail: [] });
        break;
      case 'log':
        if (v) v.tail = [...v.tail, ...ev.data.split('\n').filter((l) => l !== '')].slice(-6);
        break;
      case 'complete':
        if (v) Object.assign(v, { state: 'done', end: ev.time });
        break;
      case 'error':
        if (v) Object.assign(v, { state: 'error', end: ev.time });
        break;
    }
  }

  private frame(): string[] {
    const now = Date.now();
    const out = [`[+] Building ${seconds(now - this.begin)}`];
    for (const [n, v] of this.vertices) {
      const mark = v.state === 'cached' ? ' CACHED' : v.state === 'error' ? ' ERROR' : '';
      const t = v.state === 'cached' ? '' : ` ${seconds((v.end ?? now) - v.start)}`;
      out.push(` => #${n} ${v.name}${mark}${t}`);
      if (this.opts.explain && v.explain) for (const r of v.explain) out.push(`    cache miss: ${r}`);
      if (v.state === 'running' || v.state === 'error') for (const l of v.tail) out.push(`    > ${l}`);
    }
    return out;
  }

  private draw(): void {
    const cols = process.stderr.columns || 120;
    const lines = this.frame().map((l) => (l.length > cols ? l.slice(0, cols - 1) : l));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\r\x1b[J` : '';
    this.opts.write(up + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.draw();
  }
}

export function createRenderer(mode: ProgressMode, opts: RendererOptions & { isTTY: boolean; ci: boolean }): Renderer {
  const resolved = mode === 'auto' ? (opts.isTTY && !opts.ci ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'tty':
      return new TtyRenderer(opts);
    case 'rawjson':
      return new RawJsonRenderer(opts);
    case 'quiet':
      return new QuietRenderer();
    default:
      return new PlainRenderer(opts);
  }
}
