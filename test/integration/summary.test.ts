/**
 * `cleaner status` and `cleaner report` summarize a run from one place: through the real CLI, for
 * the same run, they print the same totals, durations and throughput.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, statusJson } from '../helpers/cli.js';
import { generateEvents } from '../helpers/events.js';

let dir: string;

describe('one run summary', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-summary-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('status --json and report agree on totals and throughput, which counts only the objects cleaned to the end', async () => {
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    const good = generateEvents({ seed: 11, lines: 3000 }).data;
    writeFileSync(join(src, 'good.jsonl'), good);
    // Not gzip: this object fails, and its 2 MB were never cleaned, so they must not count as throughput.
    writeFileSync(join(src, 'fake.jsonl.gz'), generateEvents({ seed: 12, lines: 5000 }).data);
    const state = join(dir, 'state.db');
    const r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'work'), '--state', state]);
    assert.equal(r.code, 4, r.stderr);

    const status = await statusJson(state);
    const out = await runCli(['report', '--state', state]);
    assert.equal(out.code, 0, out.stderr);
    const report = JSON.parse(out.stdout);

    assert.equal(status.totals.objects_failed, 1);
    assert.equal(status.totals.objects_done, 1);
    const { error_rate, ...reportTotals } = report.totals;
    assert.deepEqual(reportTotals, status.totals);
    assert.equal(error_rate, status.error_rate);
    assert.deepEqual(report.rejected_by_reason, status.rejected_by_reason);
    assert.equal(report.durations_s.elapsed, status.run.elapsed_s);
    assert.equal(report.throughput.mb_per_s, status.throughput_mb_s);

    // The rule both follow: bytes of the objects this run cleaned to the end, over the wall clock.
    assert.ok(status.run.elapsed_s > 0);
    const cleaned = report.objects.filter((o: any) => o.outcome === 'done');
    assert.deepEqual(cleaned.map((o: any) => o.key), ['good.jsonl']);
    const expected = good.length / 1e6 / status.run.elapsed_s;
    assert.ok(Math.abs(status.throughput_mb_s - expected) <= 0.01 * expected + 0.001, `${status.throughput_mb_s} MB/s, expected about ${expected}`);
    const linesPerS = cleaned[0].lines / status.run.elapsed_s;
    assert.ok(Math.abs(report.throughput.lines_per_s - linesPerS) <= 0.01 * linesPerS + 1, `${report.throughput.lines_per_s} lines/s, expected about ${linesPerS}`);
  });
});
