/**
 * A real lake: many small objects through the generated endpoint (test/helpers/lake-s3.ts), every
 * output and count checked, and a SIGKILL while listing and while cleaning loses and duplicates
 * nothing. N is CLEANER_LAKE_OBJECTS (default 500 for npm test; the 100,000 with
 * `CLEANER_LAKE_OBJECTS=100000 node --import tsx --test test/integration/lake.test.ts`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLake, type Lake } from '../helpers/lake-s3.js';
import { killWhen, runCli, statusJson } from '../helpers/cli.js';
import { listFiles } from '../helpers/tree.js';

const N = Number(process.env.CLEANER_LAKE_OBJECTS ?? 500);
const TIMEOUT = Math.max(300_000, N * 20);
let dir: string;

function args(lake: Lake, local: string, ...more: string[]): string[] {
  return ['run', '--source', `s3://${lake.bucket}/${lake.prefix}`, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet', ...more];
}

/**
 * Checks every object from `from` to `to` (exclusive) against what the lake serves: its output
 * holds exactly its valid line, its errors file exactly one record when it has a rejected line
 * (none otherwise), and no other file is in output/ or errors/.
 */
function assertOutputs(lake: Lake, local: string, from: number, to: number): void {
  const outs = new Set(listFiles(join(local, 'output')));
  const errs = new Set(listFiles(join(local, 'errors')));
  let rejects = 0;
  for (let i = from; i < to; i++) {
    const rel = lake.key(i).slice(lake.prefix.length);
    const body = lake.body(i).toString('utf8');
    const firstLine = body.slice(0, body.indexOf('\n') + 1);
    assert.ok(outs.delete(rel), `output of ${rel}`);
    assert.equal(readFileSync(join(local, 'output', rel), 'utf8'), firstLine, `output of ${rel} is its valid line, once`);
    if (lake.expected(i).rejected) {
      rejects++;
      assert.ok(errs.delete(rel), `errors of ${rel}`);
      const records = readFileSync(join(local, 'errors', rel), 'utf8').trim().split('\n');
      assert.equal(records.length, 1, `one reject record for ${rel}`);
      assert.equal(JSON.parse(records[0]).line, 2);
    }
  }
  assert.deepEqual([...outs].slice(0, 5), [], 'no other output');
  assert.deepEqual([...errs].slice(0, 5), [], 'no other errors file');
  assert.ok(rejects > 0);
}

/** The lines and rejects the lake's objects [from, to) hold. */
/** The run in `local` ended with the lake's first `n` objects each done once: status figures and outputs. */
async function assertAllDone(lake: Lake, local: string, n: number): Promise<void> {
  const s = await statusJson(join(local, 'state.db'));
  assert.equal(s.totals.objects, n);
  assert.equal(s.totals.objects_done, n);
  assert.equal(s.totals.valid, expectedLines(lake, 0, n).valid);
  assert.equal(s.totals.rejected, expectedLines(lake, 0, n).rejected);
  assertOutputs(lake, local, 0, n);
}

function expectedLines(lake: Lake, from: number, to: number) {
  let valid = 0;
  let rejected = 0;
  for (let i = from; i < to; i++) {
    valid += lake.expected(i).valid;
    rejected += lake.expected(i).rejected;
  }
  return { valid, rejected, lines: valid + rejected };
}

describe(`a lake of ${N.toLocaleString('en-US')} small objects`, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-lake-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every object is cleaned once and counted; an incremental run cleans only the new and changed ones and lists none of the rest', { timeout: TIMEOUT * 2 }, async () => {
    const lake = await startLake({ count: N });
    try {
      const local = join(dir, 'full');
      const env = lake.env();
      const r = await runCli(args(lake, local), { env, timeoutMs: TIMEOUT });
      assert.equal(r.code, 0, r.stderr);
      let s = await statusJson(join(local, 'state.db'));
      const want = expectedLines(lake, 0, N);
      assert.equal(s.totals.objects, N);
      assert.equal(s.totals.objects_done, N);
      assert.equal(s.totals.objects_failed + s.totals.objects_pending + s.totals.objects_gone, 0);
      assert.equal(s.totals.valid, want.valid);
      assert.equal(s.totals.rejected, want.rejected);
      assert.equal(s.totals.lines, want.lines);
      assert.equal(lake.served.get, N, 'one GET per object');
      assertOutputs(lake, local, 0, N);

      // A delivery stream adds objects; one old object is rewritten.
      lake.count = N + 25;
      lake.touch(7);
      const gets = lake.served.get;
      const r2 = await runCli(args(lake, local), { env, timeoutMs: TIMEOUT });
      assert.equal(r2.code, 0, r2.stderr);
      s = await statusJson(join(local, 'state.db'));
      assert.equal(s.totals.objects, N + 25);
      assert.equal(s.totals.objects_skipped, N - 1);
      assert.equal(s.totals.objects_done, N + 25);
      assert.equal(lake.served.get - gets, 26, 'only the new and the changed objects are fetched');
      assert.deepEqual(s.totals.valid, expectedLines(lake, N, N + 25).valid + 1);
      const report = JSON.parse(readFileSync(join(local, 'reports', `${s.run.id}.json`), 'utf8'));
      assert.equal(report.objects.length, 26, 'the report lists what the run cleaned, and counts the skipped');
      assert.equal(report.totals.objects_skipped, N - 1);
      assertOutputs(lake, local, 0, N + 25);
    } finally {
      await lake.stop();
    }
  });

  test('--start-after lists and cleans only the keys after it', async () => {
    const lake = await startLake({ count: N });
    try {
      const local = join(dir, 'after');
      const r = await runCli(args(lake, local, '--start-after', lake.key(N - 11)), { env: lake.env() });
      assert.equal(r.code, 0, r.stderr);
      const s = await statusJson(join(local, 'state.db'));
      assert.equal(s.totals.objects, 10);
      assert.equal(lake.served.get, 10);
      assert.equal(lake.served.list, 1, 'one page listed');
      assertOutputs(lake, local, N - 10, N);
    } finally {
      await lake.stop();
    }
  });

  test('a SIGKILL while listing, then resume, loses and duplicates nothing, and the listing goes on after its last page', { timeout: TIMEOUT * 2 }, async () => {
    // Pages of 50 keys, slowed so the kill lands between them.
    const lake = await startLake({ count: N, pageDelayMs: 100, pageSize: 50 });
    const n = lake.count;
    try {
      const local = join(dir, 'kill-list');
      const env = lake.env();
      await killWhen(args(lake, local), env, () => lake.served.list >= 3);
      assert.equal(lake.served.get, 0, 'killed before any download');
      const pages = lake.served.list;
      const r = await runCli(['resume', '--state', join(local, 'state.db'), '--quiet'], { env, timeoutMs: TIMEOUT });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(lake.served.list - pages <= Math.ceil(n / 50) - 2, `resume listed ${lake.served.list - pages} pages: it went on, it did not start over`);
      await assertAllDone(lake, local, n);
    } finally {
      await lake.stop();
    }
  });

  test('a SIGKILL while many objects are in flight, then resume, loses and duplicates nothing', { timeout: TIMEOUT * 2 }, async () => {
    const lake = await startLake({ count: N });
    try {
      const local = join(dir, 'kill-run');
      const env = lake.env();
      await killWhen(args(lake, local), env, () => lake.served.get >= N / 3);
      const r = await runCli(['resume', '--state', join(local, 'state.db'), '--quiet'], { env, timeoutMs: TIMEOUT });
      assert.equal(r.code, 0, r.stderr);
      await assertAllDone(lake, local, N);
    } finally {
      await lake.stop();
    }
  });
});
