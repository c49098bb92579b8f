/**
 * The fast path is kept per thread only while it is quicker than JSON.parse + ajv on the same lines;
 * either way the verdicts are ajv's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probed, PROBE_LINES, PROBE_SKIP } from '../../src/validate/probe.js';
import { ACCEPT, REJECT, UNSURE_LINE } from '../../src/validate/fast-path.js';

const line = Buffer.from('{"a":1}');
/** Busy for about `ms` milliseconds: a slow side, timed for real. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a fast path slower than the exact path is dropped after the probe window', () => {
  const fast = probed(() => (busy(0.3), ACCEPT), () => undefined);
  for (let n = 0; n < PROBE_SKIP + PROBE_LINES; n++) assert.equal(fast(line, 0, line.length), ACCEPT);
  assert.equal(fast(line, 0, line.length), UNSURE_LINE, 'the exact path decides from now on');
});

test('a fast path quicker than the exact path is kept', () => {
  let calls = 0;
  const fast = probed(() => (calls++, ACCEPT), () => busy(0.3));
  for (let n = 0; n < PROBE_SKIP + PROBE_LINES + 10; n++) assert.equal(fast(line, 0, line.length), ACCEPT);
  assert.equal(calls, PROBE_SKIP + PROBE_LINES + 10);
});

test('lines the fast path does not accept are not timed against the exact path', () => {
  let exact = 0;
  const fast = probed(() => REJECT, () => exact++);
  for (let n = 0; n < PROBE_SKIP + PROBE_LINES + 10; n++) assert.equal(fast(line, 0, line.length), REJECT);
  assert.equal(exact, 0, 'a line the fast path rejects never needs the deciding validator');
});

test('a fast path that is only ever unsure is dropped: it is pure cost', () => {
  let exact = 0;
  const fast = probed(() => UNSURE_LINE, () => exact++);
  for (let n = 0; n < PROBE_SKIP + PROBE_LINES; n++) fast(line, 0, line.length);
  assert.equal(exact, 0);
  let asked = 0;
  const counted = probed(() => (asked++, UNSURE_LINE), () => undefined);
  for (let n = 0; n < PROBE_SKIP + PROBE_LINES + 10; n++) counted(line, 0, line.length);
  assert.equal(asked, PROBE_SKIP + PROBE_LINES, 'not asked after the window');
});

test('a fast path quicker than JSON.parse alone is kept without ever running ajv (its validator is never compiled for the probe)', () => {
  let exact = 0;
  const fast = probed(() => ACCEPT, () => exact++, () => busy(0.2));
  for (let n = 0; n < PROBE_SKIP + 3 * PROBE_LINES; n++) assert.equal(fast(line, 0, line.length), ACCEPT);
  assert.equal(exact, 0);
});

test('a fast path slower than JSON.parse is timed against the whole exact path before it is dropped', () => {
  let exact = 0;
  const kept = probed(() => (busy(0.2), ACCEPT), () => (exact++, busy(0.6)), () => undefined);
  for (let n = 0; n < PROBE_SKIP + 2 * PROBE_LINES + 10; n++) assert.equal(kept(line, 0, line.length), ACCEPT);
  assert.equal(exact, PROBE_LINES, 'one window against the exact path');
  const dropped = probed(() => (busy(0.3), ACCEPT), () => undefined, () => undefined);
  for (let n = 0; n < PROBE_SKIP + 2 * PROBE_LINES; n++) assert.equal(dropped(line, 0, line.length), ACCEPT);
  assert.equal(dropped(line, 0, line.length), UNSURE_LINE);
});

test('for large rules, a fast path within the margin of several JSON.parses is kept without compiling ajv', () => {
  let exact = 0;
  // 0.3 ms against JSON.parse's 0.05: too slow to keep on JSON.parse alone (share 1), kept as a share of 8.
  const large = probed(() => (busy(0.3), ACCEPT), () => exact++, () => busy(0.05), 8);
  for (let n = 0; n < PROBE_SKIP + 2 * PROBE_LINES + 10; n++) assert.equal(large(line, 0, line.length), ACCEPT);
  assert.equal(exact, 0);
  const small = probed(() => (busy(0.3), ACCEPT), () => exact++, () => busy(0.05), 1);
  for (let n = 0; n < PROBE_SKIP + 2 * PROBE_LINES; n++) small(line, 0, line.length);
  assert.equal(exact, PROBE_LINES, 'small rules: timed against ajv itself');
});
