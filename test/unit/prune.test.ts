/**
 * What `cleaner prune` keeps (src/commands/prune.ts over a real SQLite state): a run that delivered
 * objects keeps its row for the deliveries that name it, a run with a delivery in progress keeps
 * everything, and pruning twice removes nothing more. The CLI's end-to-end promises are in
 * test/integration/prune.test.ts.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAge, pruneState } from '../../src/commands/prune.js';
import { beginDelivery, getObject, getRun, markDelivered, runObjects } from '../../src/state/queries.js';
import { addObject, endRun, startRun, tempState } from '../helpers/run-state.js';

let s: ReturnType<typeof tempState>;
const DEST = 's3://clean/events/';

describe('prune', () => {
  beforeEach(() => {
    s = tempState('prune');
  });
  afterEach(() => s.close());

  test('a delivered run keeps its row and loses its object rows; a delivery in progress keeps its run whole; a second prune removes nothing', () => {
    const r1 = startRun(s.db, s.localDir);
    const a = addObject(s.db, r1, { key: 'a.jsonl', size: 10, valid: 1 });
    const b = addObject(s.db, r1, { key: 'b.jsonl', size: 10, valid: 1 });
    beginDelivery(s.db, r1.id, getObject(s.db, a), DEST, [{ kind: 'output', size: 1, partSize: 0 }]);
    markDelivered(s.db, a, DEST, { output: 1 });
    endRun(s.db, r1, 1);
    const r2 = startRun(s.db, s.localDir);
    for (const key of ['a.jsonl', 'b.jsonl']) addObject(s.db, r2, { key, size: 10 });
    endRun(s.db, r2, 1);
    const r3 = startRun(s.db, s.localDir);
    for (const key of ['a.jsonl', 'b.jsonl']) addObject(s.db, r3, { key, size: 10 });
    beginDelivery(s.db, r3.id, getObject(s.db, b), DEST, [{ kind: 'output', size: 1, partSize: 0 }]);
    endRun(s.db, r3, 1);
    const r4 = startRun(s.db, s.localDir);
    endRun(s.db, r4, 1);

    const f = pruneState(s.db, 0);
    assert.deepEqual(f.runs, [r1.id, r2.id]);
    assert.equal(f.rows, 2 + 3, "run 1's two object rows; run 2's two and its own");
    assert.ok(getRun(s.db, r1.id), 'run 1 stays: a delivery names it');
    assert.equal(runObjects(s.db, r1.id).length, 0);
    assert.equal(getRun(s.db, r2.id), undefined);
    assert.equal(runObjects(s.db, r3.id).length, 2, 'run 3 has a delivery in progress: untouched');
    assert.equal(getObject(s.db, a).state, 'done', 'objects stay');
    assert.ok(f.stateBytesAfter > 0);
    assert.deepEqual(pruneState(s.db, 0).runs, [], 'nothing left to prune');
  });

  test('ages read as a number and a unit', () => {
    assert.equal(parseAge('90d', '--older-than'), 90 * 86_400_000);
    assert.equal(parseAge('12h', '--older-than'), 12 * 3_600_000);
    assert.equal(parseAge('2w', '--older-than'), 14 * 86_400_000);
    assert.throws(() => parseAge('90', '--older-than'), /--older-than: expected an age such as 90d/);
  });
});
