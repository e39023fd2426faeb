import test from 'ava';
import { kernelAtLeast } from './kernel-config.js';

test('kernel versions compare by major, then minor, whatever follows them', (t) => {
  t.true(kernelAtLeast(5, 10, '5.10.0-28-amd64'));
  t.true(kernelAtLeast(5, 10, '6.1.0'));
  t.true(kernelAtLeast(5, 10, '5.15.153.1-microsoft-standard-WSL2'));
  t.false(kernelAtLeast(5, 10, '5.4.0-150-generic'));
  t.false(kernelAtLeast(5, 10, '4.19.0'));
  t.false(kernelAtLeast(5, 10, 'unknown'));
});
