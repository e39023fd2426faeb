// One timed packLayer of a directory into /dev/null-like sink; prints JSON with seconds and digests.
// Run as its own process so /usr/bin/time can report its peak memory.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packLayer, type Compression } from '../../oci/layer/index.js';

const [dir, compression, level] = process.argv.slice(2) as [string, Compression, string | undefined];
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const { stream, result } = packLayer(dir, { compression, level: level ? Number(level) : undefined, sourceDateEpoch: 0 });
await pipeline(stream, new Writable({ write: (_chunk, _enc, cb) => cb() }));
const packed = await result;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpuStart);
// CPU seconds of all threads (zstd workers included), without Node's start-up.
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, ...packed })}\n`);
