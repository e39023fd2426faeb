import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  /** Delay before the second attempt; doubles each time, with jitter. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250 };

export function isRetryable(err: unknown): boolean {
  return err instanceof RegistryError && err.retryable;
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = policy.baseDelayMs * 2 ** (attempt - 1);
  return base / 2 + Math.random() * (base / 2);
}

/** Runs `op` again after exponential backoff while it fails with a retryable RegistryError. */
export async function withRetry<T>(policy: RetryPolicy, op: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !isRetryable(err)) throw err;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
