/**
 * The quality gate (src/stages/gate.ts) over runs built in a real SQLite state and a real local
 * dir: a breach of the run's limits moves every output the run cleaned to quarantine/ and says why;
 * a pass moves nothing; the verdict is stored with the run for status and the report.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyGate } from '../../src/stages/gate.js';
import { getRun, runObjects } from '../../src/state/queries.js';
import { addObject, startRun, tempState } from '../helpers/run-state.js';

let s: ReturnType<typeof tempState>;

const out = (key: string) => join(s.localDir, 'output', key);
const held = (key: string) => join(s.localDir, 'quarantine', key);

describe('quality gate', () => {
  beforeEach(() => {
    s = tempState('gate');
  });
  afterEach(() => s.close());

  test('no limits set: no verdict, nothing stored, nothing moved', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'a.jsonl', size: 10, valid: 1, rejected: 9, output: 'a\n' });
    assert.equal(applyGate(s.db, run, { maxErrorRate: null, maxRejects: null }), undefined);
    assert.equal(getRun(s.db, run.id)!.gate, null);
    assert.ok(existsSync(out('a.jsonl')));
  });

  test('a run above --max-error-rate quarantines every output it cleaned and stores why', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'good.jsonl', size: 10, valid: 99, rejected: 1, output: 'good\n' });
    addObject(s.db, run, { key: 'day/bad.jsonl', size: 10, valid: 60, rejected: 40, output: 'bad\n' });
    const v = applyGate(s.db, run, { maxErrorRate: 0.1, maxRejects: null })!;
    assert.equal(v.breached, true);
    assert.deepEqual(v.reasons, ['run error rate 20.5% is above --max-error-rate 10%']);
    assert.equal(v.error_rate, 41 / 200);
    assert.equal(v.rejected, 41);
    assert.deepEqual(v.quarantined.map((q) => [q.key, q.error_rate, q.rejected]), [['day/bad.jsonl', 0.4, 40], ['good.jsonl', 0.01, 1]]);
    for (const [key, text] of [['good.jsonl', 'good\n'], ['day/bad.jsonl', 'bad\n']]) {
      assert.ok(!existsSync(out(key)), `${key} left output/`);
      assert.equal(readFileSync(held(key), 'utf8'), text, `${key} is whole in quarantine/`);
    }
    assert.deepEqual(JSON.parse(getRun(s.db, run.id)!.gate!), v);
    assert.ok(runObjects(s.db, run.id).every((o) => o.quarantined === 1), 'each object is marked quarantined for this run');
  });

  test('a breach over many objects names only the first of them in key order, and counts them all', () => {
    const run = startRun(s.db, s.localDir);
    for (const key of ['e.jsonl', 'c.jsonl', 'a.jsonl', 'd.jsonl', 'b.jsonl']) addObject(s.db, run, { key, size: 10, valid: 1, rejected: 1, output: 'x\n' });
    const v = applyGate(s.db, run, { maxErrorRate: 0.1, maxRejects: null }, 2)!;
    assert.deepEqual(v.quarantined.map((q) => q.key), ['a.jsonl', 'b.jsonl']);
    assert.equal(v.quarantined_total, 5);
    assert.ok(runObjects(s.db, run.id).every((o) => o.quarantined === 1), 'every object is quarantined, named or not');
  });

  test('--max-rejects is a most: equal passes, one more breaches', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'a.jsonl', size: 10, valid: 95, rejected: 5, output: 'a\n' });
    const pass = applyGate(s.db, run, { maxErrorRate: null, maxRejects: 5 })!;
    assert.equal(pass.breached, false);
    assert.deepEqual(pass.reasons, []);
    assert.ok(existsSync(out('a.jsonl')));
    const breach = applyGate(s.db, run, { maxErrorRate: null, maxRejects: 4 })!;
    assert.deepEqual(breach.reasons, ['run rejected 5 lines, more than --max-rejects 4']);
    assert.ok(existsSync(held('a.jsonl')));
  });

  test('only objects the run cleaned to the end count: failed and skipped ones neither judge nor move', () => {
    const first = startRun(s.db, s.localDir);
    addObject(s.db, first, { key: 'old.jsonl', size: 10, valid: 1, rejected: 99, output: 'old\n' });
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'old.jsonl', size: 10 }); // unchanged: skipped by this run
    addObject(s.db, run, { key: 'broken.jsonl', size: 10, valid: 0, rejected: 50, end: 'failed' });
    addObject(s.db, run, { key: 'a.jsonl', size: 10, valid: 100, rejected: 0, output: 'a\n' });
    const v = applyGate(s.db, run, { maxErrorRate: 0.05, maxRejects: 10 })!;
    assert.equal(v.breached, false);
    assert.equal(v.rejected, 0);
    assert.ok(existsSync(out('old.jsonl')), "an earlier run's output is not this run's to judge");
  });

  test('an object quarantined when published breaches the gate on its own, and the good ones stay in output/', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'good.jsonl', size: 10, valid: 100, output: 'good\n' });
    addObject(s.db, run, { key: 'bad.jsonl', size: 10, valid: 5, rejected: 5, end: 'quarantined', output: 'bad\n' });
    const v = applyGate(s.db, run, { maxErrorRate: 0.2, maxRejects: null })!;
    assert.equal(v.breached, true, 'run rate 5 of 110 is under 20%, but one object is not');
    assert.deepEqual(v.reasons, ['1 object(s) above --max-error-rate 20%']);
    assert.deepEqual(v.quarantined, [{ key: 'bad.jsonl', error_rate: 0.5, rejected: 5 }]);
    assert.ok(existsSync(out('good.jsonl')));
    assert.ok(existsSync(held('bad.jsonl')));
  });
});
