import type { HealthcheckConfig } from '../../grammar/index.js';
import type { HealthConfig } from './types.js';

/**
 * A HEALTHCHECK instruction as the image config records it (docker's `Healthcheck`). Zero values
 * (`--interval=0s`, `--retries=0`) mean "inherit" and are left out, as Go's omitempty leaves them.
 */
export function healthConfig(check: HealthcheckConfig): HealthConfig {
  if (check.type === 'none') return { Test: ['NONE'] };
  return {
    Test: check.command.form === 'exec' ? ['CMD', ...check.command.args] : ['CMD-SHELL', check.command.text],
    ...(check.interval ? { Interval: check.interval } : {}),
    ...(check.timeout ? { Timeout: check.timeout } : {}),
    ...(check.startPeriod ? { StartPeriod: check.startPeriod } : {}),
    ...(check.startInterval ? { StartInterval: check.startInterval } : {}),
    ...(check.retries ? { Retries: check.retries } : {}),
  };
}
