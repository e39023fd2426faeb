import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelAtLeast, kernelHas } from './kernel-config.js';

test('kernel versions compare by major, then minor, whatever follows them', (t) => {
  t.true(kernelAtLeast(5, 10, '5.10.0-28-amd64'));
  t.true(kernelAtLeast(5, 10, '6.1.0'));
  t.true(kernelAtLeast(5, 10, '5.15.153.1-microsoft-standard-WSL2'));
  t.false(kernelAtLeast(5, 10, '5.4.0-150-generic'));
  t.false(kernelAtLeast(5, 10, '4.19.0'));
  t.false(kernelAtLeast(5, 10, 'unknown'));
});

test('an answer is kept in the state root for the boot that gave it, and read back by later processes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-kernel-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const file = join(root, 'kernel-facts.json');
  const answer = kernelHas('CONFIG_X86_X32_ABI', root);
  const facts = JSON.parse(await readFile(file, 'utf8')) as { bootId: string; release: string; has: Record<string, boolean | null> };
  t.is(facts.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  t.is(facts.release, release());
  t.deepEqual(facts.has, { CONFIG_X86_X32_ABI: answer ?? null });
  // What a later process asks is read from the file, not the kernel (which has no such option).
  await writeFile(file, JSON.stringify({ ...facts, has: { ...facts.has, CONFIG_KILN_TEST_A: true } }));
  t.true(kernelHas('CONFIG_KILN_TEST_A', root));
  // Another boot's answers are not trusted.
  await writeFile(file, JSON.stringify({ ...facts, bootId: 'another-boot', has: { CONFIG_KILN_TEST_B: true } }));
  t.not(kernelHas('CONFIG_KILN_TEST_B', root), true);
  t.deepEqual((JSON.parse(await readFile(file, 'utf8')) as typeof facts).bootId, facts.bootId, 'rewritten for this boot');
});
