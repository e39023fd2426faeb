import type { HealthcheckConfig } from '../../grammar/index.js';
import type { HealthConfig } from './types.js';

/** A HEALTHCHECK instruction as the image config records it (docker's `Healthcheck`). */
export function healthConfig(check: HealthcheckConfig): HealthConfig {
  if (check.type === 'none') return { Test: ['NONE'] };
  return {
    Test: check.command.form === 'exec' ? ['CMD', ...check.command.args] : ['CMD-SHELL', check.command.text],
    ...(check.interval !== undefined ? { Interval: check.interval } : {}),
    ...(check.timeout !== undefined ? { Timeout: check.timeout } : {}),
    ...(check.startPeriod !== undefined ? { StartPeriod: check.startPeriod } : {}),
    ...(check.startInterval !== undefined ? { StartInterval: check.startInterval } : {}),
    ...(check.retries !== undefined ? { Retries: check.retries } : {}),
  };
}
