/**
 * The run report (src/report/build.ts) over runs built in a real SQLite state: what an operator
 * reads in it — objects by what became of them, line totals, error rate, rules with example lines,
 * durations and throughput — and that `cleaner status` reads the same figures.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPageReport, buildReport, writeRunReport } from '../../src/report/build.js';
import { renderHtml } from '../../src/report/html.js';
import { statusReport } from '../../src/commands/status.js';
import { addObject, endRun, startRun, tempState } from '../helpers/run-state.js';

let s: ReturnType<typeof tempState>;

describe('run report', () => {
  beforeEach(() => {
    s = tempState('report-build');
  });
  afterEach(() => s.close());

  test('the HTML page of a run larger than its limit lists the worst objects (failed first, then by error rate) and counts them all', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'clean-1.jsonl', size: 10, valid: 10 });
    addObject(s.db, run, { key: 'some.jsonl', size: 10, valid: 9, rejected: 1 });
    addObject(s.db, run, { key: 'clean-2.jsonl', size: 10, valid: 10 });
    addObject(s.db, run, { key: 'broken.jsonl', size: 10, end: 'failed' });
    addObject(s.db, run, { key: 'worst.jsonl', size: 10, valid: 1, rejected: 9 });
    endRun(s.db, run, 1);
    const page = buildPageReport(s.db, run.id, 2)!;
    assert.equal(page.objectsInRun, 5);
    assert.deepEqual(page.report.objects.map((o) => o.key), ['broken.jsonl', 'worst.jsonl']);
    assert.equal(page.report.totals.objects, 5, 'totals are of the whole run');
    assert.match(renderHtml(page.report, page.objectsInRun), /The 2 worst \(failed or gone, quarantined, then by error rate\) of 5 objects/);
    assert.deepEqual(buildPageReport(s.db, run.id, 5)!.report.objects, buildReport(s.db, run.id)!.objects, 'within the limit: every object, in the report order');
  });

  test('counts objects by what became of them, and lines only of the objects the run processed', () => {
    const first = startRun(s.db, s.localDir);
    addObject(s.db, first, { key: 'old.jsonl', size: 500, valid: 50 });
    endRun(s.db, first, 1);
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'old.jsonl', size: 500 }); // same ETag and rules: skipped as unchanged
    addObject(s.db, run, { key: 'a.jsonl', size: 1000, valid: 90, rejected: 8, blank: 2 });
    addObject(s.db, run, { key: 'b.jsonl', size: 2000, valid: 10, rejected: 2, end: 'failed' });
    addObject(s.db, run, { key: 'c.jsonl', size: 3000, end: 'gone' });
    endRun(s.db, run, 2, 4);

    const r = buildReport(s.db)!;
    assert.equal(r.run.id, run.id, 'the latest run by default');
    assert.deepEqual(r.totals, {
      objects: 4, objects_done: 2, objects_skipped: 1, objects_failed: 1, objects_gone: 1, objects_pending: 0, objects_quarantined: 0, objects_excluded: 0, objects_markers: 0, objects_other_shards: 0,
      lines: 112, valid: 100, rejected: 10, blank: 2, bytes: 6000, error_rate: 10 / 110,
    });
    assert.equal(r.objects.find((o) => o.key === 'old.jsonl'), undefined, 'an object skipped as unchanged is counted, not listed');
    assert.deepEqual(r.objects.map((o) => o.key).sort(), ['a.jsonl', 'b.jsonl', 'c.jsonl']);
    assert.equal(buildReport(s.db, first.id)!.totals.valid, 50, 'an earlier run keeps its own figures');
  });

  test('throughput is the bytes and lines of the objects cleaned to the end, over the wall clock', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'done.jsonl', size: 3_000_000, valid: 8000, downloadMs: 1500, cleanMs: 2500 });
    addObject(s.db, run, { key: 'failed.jsonl', size: 5_000_000, valid: 4000, end: 'failed' });
    addObject(s.db, run, { key: 'gone.jsonl', size: 7_000_000, end: 'gone' });
    endRun(s.db, run, 4);

    const r = buildReport(s.db, run.id)!;
    assert.deepEqual(r.throughput, { mb_per_s: 0.75, lines_per_s: 2000 });
    assert.deepEqual(r.durations_s, { elapsed: 4, download: 1.5, clean: 2.5 });
    const status = statusReport(join(s.dir, 'state.db'), run.id);
    assert.equal(status.throughput_mb_s, r.throughput.mb_per_s);
    assert.equal(status.run!.elapsed_s, r.durations_s.elapsed);
    const { error_rate, ...totals } = r.totals;
    assert.deepEqual(status.totals, totals);
    assert.equal(status.error_rate, error_rate);
  });

  test('a run still going counts its unfinished objects as pending, with their figures so far', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'a.jsonl', size: 100, valid: 10 });
    addObject(s.db, run, { key: 'b.jsonl', size: 100, valid: 3, rejected: 1, end: 'pending' });
    const r = buildReport(s.db)!;
    assert.equal(r.run.state, 'running');
    assert.equal(r.run.finished_at, null);
    assert.equal(r.totals.objects_pending, 1);
    assert.equal(r.totals.objects_done, 1);
    assert.equal(r.totals.lines, 14);
    assert.equal(r.objects.find((o) => o.key === 'b.jsonl')!.error_rate, 0.25);
  });

  test('rules are merged across objects, most frequent first, with at most five example lines each', () => {
    const run = startRun(s.db, s.localDir);
    const ex = (n: number) => Array.from({ length: n }, (_, i) => ({ line: i + 1, offset: i * 100 }));
    addObject(s.db, run, { key: 'a.jsonl', size: 10, valid: 1, rejected: 7, byRule: { '/email format': { count: 4, examples: ex(4) }, '/timestamp format': { count: 3, examples: ex(3) } } });
    addObject(s.db, run, { key: 'b.jsonl', size: 10, valid: 1, rejected: 4, byRule: { '/timestamp format': { count: 4, examples: ex(4) } } });
    endRun(s.db, run, 1);

    const r = buildReport(s.db)!;
    assert.deepEqual(r.rejected_by_rule.map((x) => [x.rule, x.count]), [['/timestamp format', 7], ['/email format', 4]]);
    const ts = r.rejected_by_rule[0];
    assert.equal(ts.examples.length, 5);
    assert.deepEqual(ts.examples.map((e) => e.key), ['a.jsonl', 'a.jsonl', 'a.jsonl', 'b.jsonl', 'b.jsonl']);
    assert.deepEqual(ts.examples[3], { key: 'b.jsonl', line: 1, offset: 0 });
    assert.deepEqual(r.rejected_by_reason, { schema: 11 });
  });

  test('no run, or an unknown run id: no report', () => {
    assert.equal(buildReport(s.db), undefined);
    startRun(s.db, s.localDir);
    assert.equal(buildReport(s.db, 99), undefined);
  });

  test('writeRunReport puts <local-dir>/reports/<run-id>.json in place whole, the same report buildReport makes, leaving no temporary file', () => {
    const run = startRun(s.db, s.localDir);
    addObject(s.db, run, { key: 'a.jsonl', size: 10, valid: 1 });
    addObject(s.db, run, { key: 'b.jsonl', size: 20, valid: 3, rejected: 1, end: 'failed' });
    endRun(s.db, run, 1);
    const path = writeRunReport(s.db, run.id)!;
    assert.equal(path, join(s.localDir, 'reports', `${run.id}.json`));
    const { generated_at, ...written } = JSON.parse(readFileSync(path, 'utf8'));
    const { generated_at: _, ...built } = buildReport(s.db)!;
    assert.ok(generated_at);
    assert.deepEqual(written, JSON.parse(JSON.stringify(built)));
    assert.deepEqual(readdirSync(join(s.localDir, 'reports')), [`${run.id}.json`]);
    assert.ok(!existsSync(path + '.tmp'));
    assert.equal(writeRunReport(s.db, 99), null, 'no such run');
  });

  test('a run that skips thousands of unchanged objects counts them and lists none', () => {
    const first = startRun(s.db, s.localDir);
    for (let i = 0; i < 2500; i++) addObject(s.db, first, { key: `k${i}.jsonl`, size: 10, valid: 1 });
    endRun(s.db, first, 1);
    const run = startRun(s.db, s.localDir);
    for (let i = 0; i < 2500; i++) addObject(s.db, run, { key: `k${i}.jsonl`, size: 10 });
    addObject(s.db, run, { key: 'new.jsonl', size: 10, valid: 2 });
    endRun(s.db, run, 1);
    const r = JSON.parse(readFileSync(writeRunReport(s.db, run.id)!, 'utf8'));
    assert.equal(r.totals.objects, 2501);
    assert.equal(r.totals.objects_skipped, 2500);
    assert.equal(r.totals.objects_done, 2501);
    assert.deepEqual(r.objects.map((o: { key: string }) => o.key), ['new.jsonl']);
    assert.equal(statusReport(join(s.dir, 'state.db'), run.id).totals.objects_skipped, 2500, 'status counts the same');
    const old = JSON.parse(readFileSync(writeRunReport(s.db, first.id)!, 'utf8'));
    assert.equal(old.objects.length, 2500, 'a run that cleaned them lists each, streamed a page at a time');
    assert.equal(old.totals.valid, 2500);
  });
});
