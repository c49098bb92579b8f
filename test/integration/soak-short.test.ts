/**
 * The short soak in the test suite: 50 objects, 15 SIGKILLs at random instants across listing,
 * downloading, cleaning, checkpoints and publishing, each followed by resume, then a byte-for-byte
 * comparison with an uninterrupted run. The long version is `npm run soak -- --kills 100`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SOAK = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));

test('15 SIGKILLs at random instants, each resumed, lose and duplicate nothing (short soak)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SOAK, '--size', '40MB', '--objects', '50', '--kills', '15', '--seed', process.env.SOAK_SEED ?? '3'], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const summary = r.stdout.slice(r.stdout.indexOf('==== soak summary'));
  assert.equal(r.status, 0, `soak failed:\n${summary || r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  assert.match(summary, /kills\s+15 survived/);
  assert.match(summary, /differences\s+0\b/);
  assert.match(summary, /result\s+PASS/);
});
