/**
 * Years of runs over a lake: `cleaner prune` drops old runs' per-object rows and reports while
 * incremental runs go on skipping what is done, and `status --objects` pages through a run's
 * objects from the state. Real CLI, real SQLite, the lake double (test/helpers/lake-s3.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLake, type Lake } from '../helpers/lake-s3.js';
import { killWhen, runCli, statusJson } from '../helpers/cli.js';

const N = 40;
let dir: string;
let lake: Lake;

function runArgs(local: string, ...more: string[]): string[] {
  return ['run', '--source', `s3://${lake.bucket}/${lake.prefix}`, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet', ...more];
}

async function cli(args: string[]) {
  const r = await runCli(args, { env: lake.env() });
  assert.equal(r.code, 0, `cleaner ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Every key of run `runId`, paged `limit` at a time through `status --objects --json`. */
async function pagedKeys(state: string, runId: number, limit: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let pages = 0;
  for (let after: string | null = ''; after !== null; pages++) {
    const r = await cli(['status', '--state', state, '--objects', '--json', '--run', String(runId), '--limit', String(limit), ...(after ? ['--after', after] : [])]);
    const page = JSON.parse(r.stdout);
    assert.ok(page.objects.length <= limit);
    keys.push(...page.objects.map((o: { key: string }) => o.key));
    after = page.next;
  }
  return { keys, pages };
}

describe('pruning old runs and paging objects', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-prune-'));
    lake = await startLake({ count: N, pageSize: 10 });
  });
  after(async () => {
    await lake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('prune drops old done runs and their reports, keeps the latest and unfinished runs, and the next run still downloads nothing', { timeout: 120_000 }, async () => {
    const local = join(dir, 'lake');
    const state = join(local, 'state.db');
    await cli(runArgs(local)); // run 1: cleans all
    await cli(runArgs(local)); // run 2: skips all
    // Run 3 is killed while listing: unfinished, then superseded (interrupted) by run 4.
    lake.pageDelayMs = 150;
    const lists = lake.served.list;
    await killWhen(runArgs(local), lake.env(), () => lake.served.list >= lists + 2);
    lake.pageDelayMs = 0;
    await cli(runArgs(local)); // run 4
    const unfinished = await pagedKeys(state, 3, 1000);
    assert.ok(unfinished.keys.length > 0, 'the killed run listed some objects');
    assert.ok(existsSync(join(local, 'reports', '1.json')));

    const pruned = await cli(['prune', '--state', state, '--older-than', '0s']);
    assert.match(pruned.stdout, /prune: 2 run\(s\) pruned \(1, 2\): 82 row\(s\), 2 report file\(s\)/, 'runs 1 and 2: 40 + 40 object rows, two run rows');
    assert.match(pruned.stdout, /after VACUUM/);
    assert.ok(!existsSync(join(local, 'reports', '1.json')) && !existsSync(join(local, 'reports', '2.json')), 'their reports are gone');
    assert.ok(existsSync(join(local, 'reports', '4.json')), "the latest run's report stays");
    const s = await statusJson(state);
    assert.deepEqual(s.runs.map((r: { id: number; state: string }) => [r.id, r.state]), [[4, 'done'], [3, 'interrupted']]);
    assert.deepEqual((await pagedKeys(state, 3, 1000)).keys, unfinished.keys, 'the unfinished run keeps every row');

    // The next run, pruning as it ends, skips every object without fetching one and prunes run 4.
    const gets = lake.served.get;
    const r5 = await cli(runArgs(local, '--prune-older-than', '0s'));
    assert.equal(lake.served.get, gets, 'nothing downloaded after the prune');
    const s5 = await statusJson(state);
    assert.equal(s5.run.id, 5);
    assert.equal(s5.totals.objects_skipped, N, 'every object skipped as unchanged');
    assert.deepEqual(s5.runs.map((r: { id: number }) => r.id), [5, 3], 'run 4 pruned by run 5');
    assert.equal(r5.code, 0);

    const again = await cli(['prune', '--state', state, '--older-than', '0s']);
    assert.match(again.stdout, /nothing to prune/);
    const bad = await runCli(['prune', '--state', state, '--older-than', 'ninety days']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--older-than: expected an age such as 90d/);
  });

  test('status --objects pages through every key of a run exactly once, in key order', { timeout: 60_000 }, async () => {
    const local = join(dir, 'paging');
    await cli(runArgs(local));
    const { keys, pages } = await pagedKeys(join(local, 'state.db'), 1, 7);
    const expected = Array.from({ length: N }, (_, i) => lake.key(i));
    assert.deepEqual(keys, expected);
    assert.equal(pages, Math.ceil(N / 7));
  });
});
