/**
 * Parse benchmark: a generated 10,000-instruction Dockerfile (every instruction kind, continuations,
 * heredocs, JSON forms, mounts), parsed to the typed AST. Reports the median and p90 of warm runs,
 * in wall time and in this process's CPU time (user + system, GC threads included): on a shared,
 * loaded machine the CPU time is the fairer figure for before/after comparisons.
 *   node --import tsx bench/parse/run.ts [--instructions N] [--runs N] [--warmup N]
 * With `node --expose-gc`, a full GC runs before every timed parse, so no run pays for the
 * garbage of the one before.
 */
import { parseDockerfile } from '../../grammar/index.js';
import { generateDockerfile } from './gen.js';

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

const count = argValue('--instructions', 10_000);
const runs = argValue('--runs', 60);
const warmup = argValue('--warmup', 20);
const text = generateDockerfile(count);
const gc = (globalThis as { gc?: () => void }).gc;

for (let i = 0; i < warmup; i++) parseDockerfile(text);
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < runs; i++) {
  gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = parseDockerfile(text);
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  if (r.instructions.length !== count) throw new Error(`expected ${count} instructions, got ${r.instructions.length}`);
}
wall.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const ms = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  `parse ${count} instructions (${(text.length / 1024).toFixed(0)} KiB), ${runs} runs after ${warmup} warm-up${gc ? ', GC between runs' : ''}: ` +
    `wall median ${ms(quantile(wall, 0.5))} p90 ${ms(quantile(wall, 0.9))} min ${ms(wall[0]!)}; ` +
    `cpu median ${ms(quantile(cpu, 0.5))} p90 ${ms(quantile(cpu, 0.9))} (target: wall median < 100 ms)`,
);
