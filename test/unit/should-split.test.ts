/**
 * When one object is split into blocks over the clean threads (clean-ranged.ts's shouldSplit): a
 * file on disk only when the extra threads' warm-up pays back; an object still arriving from S3
 * sooner, since its blocks are cleaned while it downloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldSplit } from '../../src/stages/clean-ranged.js';

const MB = 1 << 20;
const plain = (mb: number) => ({ gz: 0, size: mb * MB });

test('a local file of 100 MB is cleaned whole by one thread; one of 200 MB is split over 2 threads', { skip: process.env.CLEANER_SPLIT_MIN_BYTES !== undefined && 'CLEANER_SPLIT_MIN_BYTES is set' }, () => {
  assert.equal(shouldSplit(plain(100), 2, 100 * MB), false);
  assert.equal(shouldSplit(plain(159), 2, 159 * MB), false);
  assert.equal(shouldSplit(plain(160), 2, 160 * MB), true);
  assert.equal(shouldSplit(plain(200), 2, 200 * MB), true);
  // More threads: each extra one gains more of the object for the same warm-up.
  assert.equal(shouldSplit(plain(100), 8, 100 * MB), true);
  assert.equal(shouldSplit(plain(100), 4, 100 * MB), false);
  assert.equal(shouldSplit(plain(110), 4, 110 * MB), true);
});

test('an object arriving from S3 is split from 64 MB, so it is cleaned while it downloads', { skip: process.env.CLEANER_SPLIT_MIN_BYTES !== undefined && 'CLEANER_SPLIT_MIN_BYTES is set' }, () => {
  assert.equal(shouldSplit(plain(63), 2, 63 * MB, true), false);
  assert.equal(shouldSplit(plain(64), 2, 64 * MB, true), true);
  assert.equal(shouldSplit(plain(100), 2, 100 * MB, true), true);
});

test('never split: gzip, one thread, or an object that is not more than a thread\'s share of the run', () => {
  assert.equal(shouldSplit({ gz: 1, size: 1024 * MB }, 2, 1024 * MB), false);
  assert.equal(shouldSplit(plain(1024), 1, 1024 * MB), false);
  // 4 files of 400 MB on 2 threads: each thread takes whole files.
  assert.equal(shouldSplit(plain(400), 2, 1600 * MB), false);
  assert.equal(shouldSplit(plain(400), 2, 1600 * MB, true), false);
  // One 400 MB file beside 300 MB of small ones: more than a thread's share.
  assert.equal(shouldSplit(plain(400), 2, 700 * MB), true);
});
