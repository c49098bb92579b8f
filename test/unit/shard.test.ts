import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseShard, resolveShard, shardOf, shardStatePath } from '../../src/keys/shard.js';
import { compileSelection } from '../../src/keys/select.js';

test('the shard of a key is pinned: the same on every machine and in every version', () => {
  // Changing any of these moves keys between shards of running jobs: never do it.
  assert.deepEqual([4, 16, 64].map((n) => shardOf('events/2026/11/30/part-00000.jsonl', n)), [3, 7, 23]);
  assert.deepEqual([4, 16, 64].map((n) => shardOf('a', n)), [2, 10, 10]);
  assert.deepEqual([4, 16, 64].map((n) => shardOf('é/ü.json.gz', n)), [2, 6, 22]);
});

test('the documented rule: first 8 bytes of SHA-256 of the UTF-8 key, big-endian, modulo N', () => {
  for (const key of ['x', 'events/2026/01/01/00/part-1.gz', '日本/キー', 'a'.repeat(1000)]) {
    const first8 = BigInt('0x' + createHash('sha256').update(Buffer.from(key, 'utf8')).digest('hex').slice(0, 16));
    for (const n of [2, 3, 7, 64]) assert.equal(shardOf(key, n), Number(first8 % BigInt(n)), `${key} of ${n}`);
  }
});

test('keys that differ only in a counter spread evenly over the shards', () => {
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 40_000; i++) counts[shardOf(`events/2026/11/${String(i % 30).padStart(2, '0')}/part-${i}.jsonl.gz`, 8)]++;
  for (const c of counts) assert.ok(Math.abs(c - 5_000) < 250, `a shard got ${c} of 40,000 keys`);
});

test('every key belongs to exactly one shard', () => {
  const sels = [0, 1, 2].map((index) => compileSelection([], { index, count: 3 }));
  for (let i = 0; i < 3_000; i++) {
    const key = `p/${i}.jsonl`;
    assert.equal(sels.filter((s) => s(key, 10, key) === undefined).length, 1, key);
  }
});

test('I/N is checked, and the job engines\' variables are understood', () => {
  assert.deepEqual(parseShard('2/4', '--shard'), { index: 2, count: 4 });
  assert.throws(() => parseShard('4/4', '--shard'), /--shard: expected I\/N with 0 <= I < N/);
  assert.throws(() => parseShard('1/0', '--shard'), /expected I\/N/);
  assert.throws(() => parseShard('one of four', '--shard'), /expected I\/N/);
  assert.equal(resolveShard(undefined, {}), undefined);
  assert.deepEqual(resolveShard(undefined, { CLEANER_SHARD: '1/3' }), { index: 1, count: 3 });
  assert.deepEqual(resolveShard(undefined, { JOB_COMPLETION_INDEX: '5', CLEANER_SHARDS: '8' }), { index: 5, count: 8 });
  assert.throws(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '5' }), /set CLEANER_SHARDS/);
  assert.deepEqual(resolveShard(undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '2' }), { index: 0, count: 2 });
  assert.deepEqual(resolveShard('0/2', { JOB_COMPLETION_INDEX: '5', CLEANER_SHARDS: '8' }), { index: 0, count: 2 }, 'the flag wins');
});

test('each shard gets its own default state file', () => {
  assert.equal(shardStatePath('state/cleaner.db', { index: 2, count: 4 }), 'state/cleaner-shard-2-of-4.db');
});
