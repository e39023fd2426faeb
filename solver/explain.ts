import { createHash } from 'node:crypto';
import type { Store } from '../cache/index.js';
import { diffFiles } from './context/index.js';

/**
 * What a step's cache key was made of, kept per step identity (build context, Dockerfile, stage,
 * step position) so the next build can say why a key changed.
 */
export interface StepInputs {
  key: string;
  parent: string;
  /** The parent step's label (`#3 RUN make`) when the parent is a step of this build. */
  command: string;
  /** Declared build args and their values. */
  args: Record<string, string | null>;
  /** Environment other than args. */
  env: string[];
  user: string;
  workdir: string;
  /** Other definition fields (mounts, network, chown...), compared as a whole. */
  other: string;
  /** Context files by path -> digest, for COPY/ADD from the context. */
  files?: Record<string, string>;
}

export function stepIdentity(parts: readonly string[]): string {
  return `explain:${createHash('sha256').update(parts.join('\0')).digest('hex')}`;
}

export function loadPrevious(store: Store, identity: string): StepInputs | undefined {
  return store.getCacheRecord<StepInputs>(identity);
}

/** Records a step's inputs, and its key apart so a cached step can check it cheaply. */
export function remember(store: Store, identity: string, inputs: StepInputs): void {
  store.transaction(() => {
    store.putCacheRecord(identity, inputs);
    store.putCacheRecord(`${identity}:key`, inputs.key);
  });
}

/** The key a step had last time, without reading its (possibly large) inputs. */
export function rememberedKey(store: Store, identity: string): string | undefined {
  return store.getCacheRecord<string>(`${identity}:key`);
}

export interface ExplainContext {
  noCache: boolean;
  /** Describes the parent key when it belongs to a step of this build (`parent step #3 changed`). */
  parentLabel?: string;
}

function filesChanged(before: Record<string, string>, after: Record<string, string>): string | undefined {
  const d = diffFiles(new Map(Object.entries(before)), new Map(Object.entries(after)));
  const all = [...d.changed, ...d.added, ...d.removed];
  if (all.length === 0) return undefined;
  const more = all.length > 1 ? ` (+${all.length - 1} more)` : '';
  return `context files changed: ${all[0]}${more}`;
}

/** Why the step with `now` inputs could not reuse a cached result, most telling reason first. */
export function explainMiss(prev: StepInputs | undefined, now: StepInputs, ctx: ExplainContext): string[] {
  if (ctx.noCache) return ['--no-cache'];
  if (!prev) return ['first build'];
  const reasons: string[] = [];
  if (prev.parent !== now.parent) reasons.push(ctx.parentLabel ? `parent step ${ctx.parentLabel} changed` : 'base image changed');
  const keys = new Set([...Object.keys(prev.args), ...Object.keys(now.args)]);
  for (const k of keys) if (prev.args[k] !== now.args[k]) reasons.push(`build arg ${k} changed`);
  const prevEnv = new Set(prev.env);
  const changedEnv = new Set<string>();
  for (const e of now.env) if (!prevEnv.has(e)) changedEnv.add(e.split('=')[0]!);
  for (const e of prev.env) if (!now.env.includes(e)) changedEnv.add(e.split('=')[0]!);
  for (const k of changedEnv) reasons.push(`env ${k} changed`);
  if (prev.command !== now.command) reasons.push('instruction changed');
  if (prev.user !== now.user) reasons.push('user changed');
  if (prev.workdir !== now.workdir) reasons.push('workdir changed');
  if (prev.other !== now.other) reasons.push('options changed');
  if (prev.files && now.files) {
    const f = filesChanged(prev.files, now.files);
    if (f) reasons.push(f);
  }
  if (reasons.length === 0) reasons.push(prev.key === now.key ? 'cached result was removed' : 'inputs changed');
  return reasons;
}
