/**
 * The short soak in the test suite: 50 objects, 8 SIGKILLs at random instants across listing,
 * downloading, cleaning, checkpoints and publishing, each followed by resume, then a byte-for-byte
 * comparison with an uninterrupted run. The long version is `npm run soak -- --kills 100`.
 * Sized to keep `npm test` short (20 MB and 8 kills took 18-21 s and 22 CPU-s alone on the Xeon VM,
 * against 35 s and 46 CPU-s for 40 MB and 15); seed 1's plan kills during startup, listing and
 * downloading. The instants that matter most are also aimed at by crash.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SOAK = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));

test('8 SIGKILLs at random instants, each resumed, lose and duplicate nothing (short soak)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SOAK, '--size', '20MB', '--objects', '50', '--kills', '8', '--seed', process.env.SOAK_SEED ?? '1'], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const summary = r.stdout.slice(r.stdout.indexOf('==== soak summary'));
  assert.equal(r.status, 0, `soak failed:\n${summary || r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  assert.match(summary, /kills\s+8 survived/);
  assert.match(summary, /differences\s+0\b/);
  assert.match(summary, /result\s+PASS/);
});
