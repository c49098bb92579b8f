/**
 * Choosing what to clean, as a user would meet it: --include/--exclude over a real S3 server and a
 * local folder, markers skipped by default, the dry run's reasons, and a local dir inside the
 * source refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { runCli, statusJson } from '../helpers/cli.js';
import { listFiles } from '../helpers/tree.js';

const BUCKET = 'select-bucket';
const events = (seed: number) => generateEvents({ seed, lines: 5, rejectRate: 0, blankRate: 0 }).data;

/** The objects of a prefix as they land from Spark, a delivery stream and a careless upload. */
const OBJECTS: Array<[string, Buffer]> = [
  ['2026/11/30/part-0.jsonl', events(1)],
  ['2026/11/30/part-1.jsonl.gz', gzip(events(2))],
  ['2026/11/30/part-0.jsonl.crc', Buffer.from('crc')],
  ['2026/11/30/_SUCCESS', Buffer.alloc(0)],
  ['2026/11/30/.part-2.jsonl.swp', Buffer.from('x')],
  ['2026/11/30/empty.jsonl', Buffer.alloc(0)],
  ['2026/11/30/_manifest.json', Buffer.from('{"files":[]}\n')],
  ['README.md', Buffer.from('# events\n')],
  ['tmp/scratch.jsonl', events(3)],
];

let s3: S3Server;
let dir: string;

describe('choosing objects', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    await s3.putMany(BUCKET, OBJECTS.map(([k, b]) => [`events/${k}`, b] as [string, Buffer]));
    dir = mkdtempSync(join(tmpdir(), 'cleaner-select-'));
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('markers are skipped by default, and status counts them as excluded (marker)', async () => {
    const local = join(dir, 'default');
    const state = join(dir, 'default.db');
    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state], { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(local, 'output')).sort(), ['2026/11/30/part-0.jsonl', '2026/11/30/part-1.jsonl.gz', 'README.md', 'tmp/scratch.jsonl']);
    const st = await statusJson(state);
    assert.equal(st.totals.objects, 4);
    assert.equal(st.totals.objects_markers, 5);
    assert.equal(st.totals.objects_excluded, 0);
    const text = await runCli(['status', '--state', state]);
    assert.match(text.stdout, /0 excluded, 5 excluded \(marker\)/);
  });

  test('--exclude/--include apply in order, the last match wins, and the dry run says why', async () => {
    const local = join(dir, 'filtered');
    const state = join(dir, 'filtered.db');
    const filters = ['--exclude', '*', '--include', '*.jsonl', '--include', '*.jsonl.gz', '--exclude', 'tmp/*'];
    const dry = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state, ...filters, '--dry-run'], { env: s3.env() });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would skip +excluded +\d+ +events\/README\.md/);
    assert.match(dry.stdout, /would skip +excluded +\d+ +events\/tmp\/scratch\.jsonl/);
    assert.match(dry.stdout, /would skip +excluded \(marker\) +0 +events\/2026\/11\/30\/_SUCCESS/);
    assert.match(dry.stdout, /would clean +new +\d+ +events\/2026\/11\/30\/part-0\.jsonl\n/);
    // *.jsonl also matches the empty object: an --include brings a marker back, as it would any excluded key.
    assert.match(dry.stdout, /would clean +new +0 +events\/2026\/11\/30\/empty\.jsonl\n/);
    assert.match(dry.stdout, /3 object\(s\) to clean .* 6 to skip \(6 excluded\)/);
    assert.ok(!existsSync(state), 'a dry run writes nothing');

    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state, ...filters], { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(local, 'output')).sort(), ['2026/11/30/empty.jsonl', '2026/11/30/part-0.jsonl', '2026/11/30/part-1.jsonl.gz']);
    assert.ok(!existsSync(join(local, 'input', 'README.md')), 'an excluded object is never downloaded');
    const st = await statusJson(state);
    assert.deepEqual([st.totals.objects, st.totals.objects_excluded, st.totals.objects_markers], [3, 2, 4]);
  });

  test('an --include that names a marker brings it back; patterns are case-sensitive', async () => {
    const local = join(dir, 'manifest');
    const state = join(dir, 'manifest.db');
    const r = await runCli(
      ['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state, '--exclude', '*', '--include', '*/_MANIFEST.json', '--include', '*/_manifest.json'],
      { env: s3.env() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(local, 'output')), ['2026/11/30/_manifest.json']);
  });

  test('objects cleaned earlier and excluded now stay as they are and are counted as excluded', async () => {
    const src = join(dir, 'src');
    for (const [k, b] of OBJECTS) {
      mkdirSync(dirname(join(src, k)), { recursive: true });
      writeFileSync(join(src, k), b);
    }
    const local = join(dir, 'local-out');
    const state = join(dir, 'local.db');
    let r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--exclude', 'tmp/*', '--exclude', 'README.md']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(local, 'output', 'tmp', 'scratch.jsonl')), 'not deleted');
    const st = await statusJson(state);
    assert.deepEqual([st.totals.objects, st.totals.objects_skipped, st.totals.objects_excluded], [2, 2, 2]);
  });

  test('a local dir inside the local source is refused before any work, unless excluded', async () => {
    const src = join(dir, 'inside');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.jsonl'), events(4));
    const state = join(dir, 'inside.db');
    let r = await runCli(['run', '--source', src, '--local-dir', join(src, 'work'), '--state', state]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--local-dir .*work is inside the source .*: later runs would clean their own output; .*--exclude 'work\/\*'/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.ok(!existsSync(state), 'nothing written');

    r = await runCli(['run', '--source', src, '--local-dir', src, '--state', state, '--exclude', 'work/*']);
    assert.equal(r.code, 2, 'the source folder itself can never be the local dir');

    r = await runCli(['run', '--source', src, '--local-dir', join(src, 'work'), '--state', state, '--exclude', 'work/*']);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['run', '--source', src, '--local-dir', join(src, 'work'), '--state', state, '--exclude', 'work/*']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(join(src, 'work', 'output')), ['a.jsonl'], 'the second run did not clean the first one\'s output');
  });

  test('a destination inside the S3 source is refused before any work, unless excluded', async () => {
    const local = join(dir, 'dest-inside');
    const state = join(dir, 'dest-inside.db');
    const base = ['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state, '--dest', `s3://${BUCKET}/events/clean/`];
    const refused = await runCli(base, { env: s3.env() });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--dest s3:\/\/select-bucket\/events\/clean\/ overlaps the source .*--exclude 'clean\/\*'/);
    assert.ok(!existsSync(state), 'nothing written');

    for (let i = 0; i < 2; i++) {
      const r = await runCli([...base, '--exclude', 'clean/*'], { env: s3.env() });
      assert.equal(r.code, 0, r.stderr);
    }
    const st = await statusJson(state);
    assert.equal(st.totals.objects, 4, 'the second run did not list its own deliveries as source');
    assert.ok(st.totals.objects_excluded >= 4, 'they were excluded');
  });
});
