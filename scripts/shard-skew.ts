/**
 * How evenly --shard I/N splits a realistic prefix: a year of Kinesis Firehose-style keys
 * (events/YYYY/MM/DD/HH/stream-1-YYYY-MM-DD-HH-MM-SS-<uuid>.gz, 12 an hour, sizes log-normal
 * around 1 MB). Prints keys and bytes per shard for N = 4, 16, 64: the most loaded shard against
 * the mean is what stretches a job's wall time.
 *
 *   node --import tsx scripts/shard-skew.ts [--seed 1]
 */
import { parseArgs } from 'node:util';
import { shardOf } from '../src/keys/shard.js';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' } } });
let state = Number(values.seed) >>> 0 || 1;
const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

const objects: Array<{ key: string; size: number }> = [];
const start = Date.UTC(2025, 11, 1);
for (let h = 0; h < 365 * 24; h++) {
  for (let j = 0; j < 12; j++) {
    const t = new Date(start + h * 3600_000 + j * 300_000 + Math.floor(rand() * 60_000));
    const p = (n: number) => String(n).padStart(2, '0');
    const [Y, M, D, H, m, s] = [t.getUTCFullYear(), p(t.getUTCMonth() + 1), p(t.getUTCDate()), p(t.getUTCHours()), p(t.getUTCMinutes()), p(t.getUTCSeconds())];
    const key = `events/${Y}/${M}/${D}/${H}/stream-1-${Y}-${M}-${D}-${H}-${m}-${s}-${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}.gz`;
    // Log-normal sizes: median 1 MB, a long tail of busy hours.
    const z = Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
    objects.push({ key, size: Math.round(1e6 * Math.exp(0.8 * z)) });
  }
}
const totalBytes = objects.reduce((a, o) => a + o.size, 0);
console.log(`${objects.length.toLocaleString('en-US')} keys, ${(totalBytes / 1e9).toFixed(1)} GB (seed ${values.seed})`);
console.log('| N | keys per shard: mean | min | max | max/mean | bytes per shard: max/mean |');
console.log('|--:|--:|--:|--:|--:|--:|');
for (const n of [4, 16, 64]) {
  const keys = new Array(n).fill(0);
  const bytes = new Array(n).fill(0);
  for (const o of objects) {
    const s = shardOf(o.key, n);
    keys[s]++;
    bytes[s] += o.size;
  }
  const mean = objects.length / n;
  console.log(`| ${n} | ${Math.round(mean).toLocaleString('en-US')} | ${Math.min(...keys).toLocaleString('en-US')} | ${Math.max(...keys).toLocaleString('en-US')} | ${(Math.max(...keys) / mean).toFixed(3)} | ${(Math.max(...bytes) / (totalBytes / n)).toFixed(3)} |`);
}
