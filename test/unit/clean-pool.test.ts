/**
 * The clean pool's threads: a pool warmed on one thread starts a second only when two tasks are
 * in hand at once, not for a task that arrives while the first still compiles; a pool for a local
 * source cleans on this thread too, with one worker fewer. Real worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCleanPool, openCleanPoolWarming, type CleanPool } from '../../src/stages/clean-pool.js';
import type { CleanTask, RulesSpec } from '../../src/stages/clean-file.js';
import { DEFAULT_RULES_TEXT } from '../../src/validate/default-schema.js';

const RULES: RulesSpec = { schemaText: DEFAULT_RULES_TEXT, schemaOrigin: 'default', maxErrorsPerLine: 10 };

/** A task that keeps a thread busy as a clean does (it compiles the rules, as each thread does first). */
function task(pool: CleanPool): Promise<unknown> {
  return pool.run(RULES as unknown as CleanTask, { name: 'warmRules' });
}

test('a pool warmed on one thread cleans one task at a time on that thread alone', async () => {
  const pool = openCleanPoolWarming(2, RULES, 1);
  try {
    // Handed over while the thread still compiles: it waits for it rather than starting another.
    await task(pool);
    await task(pool);
    assert.equal(pool.threads.length, 1);
  } finally {
    await pool.destroy();
  }
});

test('a pool warmed on one thread starts the second when two tasks are in hand at once', async () => {
  const pool = openCleanPoolWarming(2, RULES, 1);
  try {
    await Promise.all([task(pool), task(pool), task(pool)]);
    assert.equal(pool.threads.length, 2);
  } finally {
    await pool.destroy();
  }
});

test('a pool warmed on every thread starts them all at once', async () => {
  const pool = openCleanPoolWarming(2, RULES);
  try {
    assert.equal(pool.threads.length, 2);
    await task(pool);
  } finally {
    await pool.destroy();
  }
});

test('a pool of two threads for a local source takes three tasks at once with one worker and this thread', async () => {
  const pool = openCleanPool(2, RULES, true);
  try {
    assert.equal(pool.mainLane, true);
    await Promise.all([task(pool), task(pool), task(pool)]);
    assert.equal(pool.threads.length, 1);
  } finally {
    await pool.destroy();
  }
});

test('a pool of one thread for a local source starts no worker: this thread takes every task', async () => {
  const pool = openCleanPool(1, RULES, true);
  try {
    await Promise.all([task(pool), task(pool)]);
    assert.equal(pool.threads.length, 0);
  } finally {
    await pool.destroy();
  }
});

test('large rules keep every thread a worker, for a local source too (this thread explains their rejects)', async () => {
  const large = { ...RULES, schemaText: DEFAULT_RULES_TEXT + ' '.repeat(70 * 1024) };
  const pool = openCleanPool(2, large, true);
  try {
    assert.equal(pool.mainLane, false);
    await Promise.all([task(pool), task(pool), task(pool)]);
    assert.equal(pool.threads.length, 2);
  } finally {
    await pool.destroy();
  }
});
