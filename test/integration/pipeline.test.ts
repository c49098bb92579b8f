/**
 * The pipeline end to end against a real S3 HTTP server (s3rver in a child process), a real SQLite
 * state file and the real CLI process: what a user runs and what a user checks afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { runCli, statusJson } from '../helpers/cli.js';
import { expectedFor } from '../helpers/oracle.js';
import { plain, readTree } from '../helpers/tree.js';

const BUCKET = 'events-bucket';
// Past 1,000 keys, so the listing takes two pages (s3rver's page is S3's 1,000) and the run is one
// of many objects (heap-sizing.ts's MANY_OBJECTS).
const OBJECTS = 1400;

/** Every line category of the product's promise, in one object. */
const MIXED = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from('{"event_id":"0b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"click","timestamp":"2026-11-05T10:00:00Z"}\r\n'),
  Buffer.from('\n   \t \n'),
  Buffer.from('{"event_id": broken\n'),
  Buffer.from('[1,2,3]\n"just a string"\n42\nnull\n'),
  Buffer.from('{"event_id":"not-a-uuid","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"  ","timestamp":"2026-13-45T99:00:00Z","email":"nope"}\n'),
  Buffer.from('{"event_type":"'),
  Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
  Buffer.from('"}\n'),
  Buffer.from('{"event_id":"2b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"view","timestamp":"2026-11-05T10:00:01.5+02:00","event_date":"2026-11-05"}'),
]);

let s3: S3Server;
let dir: string;
const inputs = new Map<string, Buffer>(); // key -> object bytes

describe('cleaner run against a real S3 server', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-pipeline-'));
    for (let i = 0; i < OBJECTS; i++) {
      const day = String((i % 28) + 1).padStart(2, '0');
      const hour = String(i % 24).padStart(2, '0');
      const ev = generateEvents({ seed: i + 1, lines: 3 + (i % 7), rejectRate: 0.2, blankRate: 0.1 });
      const gz = i % 10 === 3;
      const key = `events/2026/11/${day}/${hour}/part-${String(i).padStart(5, '0')}.jsonl${gz ? '.gz' : ''}`;
      inputs.set(key, gz ? gzip(ev.data) : ev.data);
    }
    inputs.set('events/special/mixed.jsonl', MIXED);
    inputs.set('events/special/mixed-copy.jsonl.gz', gzip(MIXED));
    inputs.set('events/special/only-blank.jsonl', Buffer.from('\n\n  \n\r\n'));
    await s3.putMany(BUCKET, [...inputs]);
    // Not data: a console folder marker, an empty object (a marker, skipped), and a key outside the prefix.
    await s3.put(BUCKET, 'events/2026/', '');
    await s3.put(BUCKET, 'events/special/empty.jsonl', '');
    await s3.put(BUCKET, 'elsewhere/x.jsonl', '{"a":1}\n');
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function expectedTotals() {
    const t = { lines: 0, valid: 0, rejected: 0, blank: 0 };
    for (const [key, body] of inputs) {
      const e = expectedFor(plain(key, body));
      t.lines += e.lines;
      t.valid += e.valid;
      t.rejected += e.rejected;
      t.blank += e.blank;
    }
    return t;
  }

  test('the original script flags clean every object, byte for byte, and status adds up', async () => {
    const local = join(dir, 'work');
    const state = join(dir, 'state.db');
    const r = await runCli(['run', '--bucket', BUCKET, '--remote_dir', 'events/', '--local_dir', local, '--state', state], { env: s3.env(), timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');

    const status = await statusJson(state);
    assert.equal(status.totals.objects_markers, 1, 'the empty object is skipped as a marker');
    const t = expectedTotals();
    assert.deepEqual(
      { objects: status.totals.objects, done: status.totals.objects_done, failed: status.totals.objects_failed },
      { objects: inputs.size, done: inputs.size, failed: 0 },
    );
    assert.deepEqual(
      { lines: status.totals.lines, valid: status.totals.valid, rejected: status.totals.rejected, blank: status.totals.blank },
      t,
    );
    assert.equal(status.totals.lines, status.totals.valid + status.totals.rejected + status.totals.blank);

    const outputs = readTree(join(local, 'output'));
    const errors = readTree(join(local, 'errors'));
    assert.equal(outputs.size, inputs.size, 'one output file per object, nothing else');
    for (const [key, body] of inputs) {
      const rel = key.slice('events/'.length);
      const e = expectedFor(plain(key, body));
      const out = outputs.get(rel);
      assert.ok(out, `output for ${key}`);
      assert.ok(plain(rel, out).equals(e.output), `output of ${key} is exactly its valid lines`);
      const err = errors.get(rel);
      const records = err ? plain(rel, err).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      assert.equal(records.length, e.rejected, `one reject record per rejected line of ${key}`);
      for (const rec of records) {
        assert.equal(rec.source, `s3://${BUCKET}/${key}`);
        assert.equal(typeof rec.etag, 'string');
        assert.ok(rec.line >= 1 && Number.isInteger(rec.offset));
        assert.ok(['invalid_json', 'invalid_utf8', 'not_object', 'schema'].includes(rec.reason));
      }
    }
    assert.ok(!outputs.has('x.jsonl') && ![...outputs.keys()].some((k) => k.includes('elsewhere')), 'keys outside the prefix are not listed');
  });

  test('reject records say where each line came from and why', () => {
    const records = readFileSync(join(dir, 'work', 'errors', 'special', 'mixed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const byLine = new Map(records.map((r) => [r.line, r]));
    // Lines 1-3 are a valid line, an empty line and a whitespace line.
    assert.deepEqual([...byLine.keys()], [4, 5, 6, 7, 8, 9, 10]);
    assert.equal(byLine.get(4).reason, 'invalid_json');
    assert.equal(byLine.get(4).raw, '{"event_id": broken');
    for (const n of [5, 6, 7, 8]) assert.equal(byLine.get(n).reason, 'not_object');
    const schema = byLine.get(9);
    assert.equal(schema.reason, 'schema');
    const paths = schema.errors.map((e: any) => `${e.path} ${e.keyword}`).sort();
    assert.deepEqual(paths, ['/email format', '/event_id format', '/event_type pattern', '/timestamp format']);
    const utf8 = byLine.get(10);
    assert.equal(utf8.reason, 'invalid_utf8');
    assert.deepEqual(Buffer.from(utf8.raw_base64, 'base64'), Buffer.concat([Buffer.from('{"event_type":"'), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from('"}')]));
    // Offsets are byte offsets in the input: the record's raw bytes are found exactly there.
    assert.equal(MIXED.subarray(byLine.get(4).offset, byLine.get(4).offset + 19).toString(), '{"event_id": broken');
  });

  test('a second run skips unchanged objects and cleans a changed one again', async () => {
    const local = join(dir, 'work');
    const state = join(dir, 'state.db');
    const changedKey = 'events/2026/11/05/04/part-00004.jsonl';
    const fresh = Buffer.from('{"event_id":"3b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"new","timestamp":"2026-11-06T00:00:00Z"}\n');
    await s3.put(BUCKET, changedKey, fresh);
    // The new spelling names the same source, so the run is incremental.
    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', local, '--state', state], { env: s3.env(), timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    const status = await statusJson(state);
    assert.equal(status.totals.objects, inputs.size);
    assert.equal(status.totals.objects_skipped, inputs.size - 1);
    assert.equal(status.totals.lines, 1);
    assert.equal(status.totals.valid, 1);
    assert.deepEqual(readFileSync(join(local, 'output', '2026/11/05/04/part-00004.jsonl')), fresh);
    assert.ok(!existsSync(join(local, 'errors', '2026/11/05/04/part-00004.jsonl')), 'the old version\'s errors file is gone');
  });

  test('--delete-input keeps one copy on disk: inputs go once their object is cleaned', async () => {
    const local = join(dir, 'work-delete');
    const state = join(dir, 'delete.db');
    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/special/`, '--local-dir', local, '--state', state, '--delete-input'], { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readTree(join(local, 'input')).size, 0, 'no input file left');
    assert.equal(readTree(join(local, 'output')).size, 3, 'mixed, mixed-copy and only-blank (the empty object is a marker)');
    assert.deepEqual(readFileSync(join(local, 'output', 'mixed.jsonl')), expectedFor(MIXED).output);
  });

  test('a changed schema cleans every object again', async () => {
    // One day's objects (a twenty-eighth of the lake): the run over every object is the first test's.
    const source = `s3://${BUCKET}/events/2026/11/01/`;
    const day = [...inputs.keys()].filter((k) => k.startsWith('events/2026/11/01/'));
    const local = join(dir, 'work-schema');
    const state = join(dir, 'schema.db');
    let r = await runCli(['run', '--source', source, '--local-dir', local, '--state', state], { env: s3.env(), timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    const before = await statusJson(state);
    assert.ok((before.rejected_by_reason.schema ?? 0) > 0, 'the built-in rules reject some of these lines for schema');
    const schema = join(dir, 'lenient.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(schema, JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', 'x-owner': 'team-data' }));
    r = await runCli(['run', '--source', source, '--local-dir', local, '--state', state, '--schema', schema], { env: s3.env(), timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    const status = await statusJson(state);
    assert.ok(day.length >= 40, `${day.length} objects`);
    assert.equal(status.totals.objects, day.length);
    assert.equal(status.totals.objects_skipped, 0);
    assert.equal(status.totals.objects_done, day.length);
    assert.equal(status.rejected_by_reason.schema ?? 0, 0, 'the lenient rules reject nothing for schema');
  });
});
