/** RFC 3339 as Go formats it (what docker writes): no fractional part when it is zero. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/** The build time to record: SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
export function creationTime(env: NodeJS.ProcessEnv = process.env): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000);
  return new Date();
}
