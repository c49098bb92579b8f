/**
 * Delivery to an S3 destination (--dest) end to end: a real s3rver with a source and destination
 * buckets, the real CLI, real SIGKILLs, and proxies that count and hold the requests on the way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents } from '../helpers/events.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { readTree } from '../helpers/tree.js';
import { startFaultProxy, WRITE_FAULT_KINDS } from '../helpers/fault-proxy.js';
import { startWriteProxy, storedParts } from '../helpers/write-proxy.js';

const SRC = 'deliver-src';
// Parts of 1 MiB (the smallest cleaner makes) so a 5 MiB output goes up in 5 parts.
const PART_ENV = { CLEANER_DEST_PART_BYTES: String(1 << 20) };
let s3: S3Server;
let dir: string;
let dests = 0;

/** Every object under `prefix` of `bucket`, by key below the prefix. */
async function bucketTree(bucket: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length), await s3.get(bucket, o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** The destination's files of one folder (output, errors, quarantine), by path below it. */
/** The one file of run `runId` in a destination folder (`_runs/` or `_manifests/`), named `<start time>-run-<id>.json`. */
function only(tree: Map<string, Buffer>, dir: string, runId: number): Buffer {
  const hits = [...tree.keys()].filter((k) => k.startsWith(dir) && new RegExp(`^\\d{8}T\\d{9}Z-run-${runId}\\.json$`).test(k.slice(dir.length)));
  assert.equal(hits.length, 1, `one ${dir} file for run ${runId} among ${[...tree.keys()].filter((k) => k.startsWith(dir)).join(', ')}`);
  return tree.get(hits[0])!;
}

function folder(tree: Map<string, Buffer>, name: string): Map<string, Buffer> {
  return new Map([...tree].filter(([k]) => k.startsWith(`${name}/`)).map(([k, v]) => [k.slice(name.length + 1), v]));
}

/** A fresh destination bucket and local dir for one test. */
async function fresh(): Promise<{ bucket: string; local: string; state: string }> {
  const bucket = `deliver-dest-${++dests}`;
  await s3.createBucket(bucket);
  const local = join(dir, bucket);
  return { bucket, local, state: join(local, 'state.db') };
}

function args(t: { bucket: string; local: string; state: string }, ...more: string[]): string[] {
  return ['run', '--source', `s3://${SRC}/data/`, '--local-dir', t.local, '--state', t.state, '--dest', `s3://${t.bucket}/clean/`, ...more];
}

describe('delivering to an S3 destination', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(SRC);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-deliver-'));
    const entries: Array<[string, Buffer]> = [];
    for (let i = 0; i < 12; i++) entries.push([`data/day=${i % 3}/part-${i}.jsonl`, generateEvents({ seed: i + 1, lines: 40 + i, rejectRate: i % 4 === 0 ? 0 : 0.2 }).data]);
    // About 5 MiB of valid lines: a multipart upload of 5 parts.
    entries.push(['data/big/large.jsonl', generateEvents({ seed: 99, lines: 9_000, rejectRate: 0.01 }).data]);
    await s3.putMany(SRC, entries);
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the destination holds the same bytes as the local files, with metadata and a loader manifest', async () => {
    const t = await fresh();
    const r = await runCli(args(t), { env: { ...s3.env(), ...PART_ENV } });
    assert.equal(r.code, 0, r.stderr);
    const tree = await bucketTree(t.bucket, 'clean/');
    for (const f of ['output', 'errors']) assert.deepEqual(folder(tree, f), readTree(join(t.local, f)), `${f}/ at the destination equals the local ${f}/`);
    assert.ok(folder(tree, 'errors').size > 0 && folder(tree, 'errors').size < 13, 'objects without rejects have no errors file');

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: 'clean/output/big/large.jsonl' }));
    assert.equal(head.Metadata?.['source-key'], encodeURIComponent('data/big/large.jsonl'));
    assert.match(head.Metadata?.['rules-hash'] ?? '', /^[0-9a-f]{16,}$/);
    assert.ok(Number(head.Metadata?.valid) > 8_800);

    const manifest = JSON.parse(only(tree, '_manifests/', 1).toString());
    assert.equal(manifest.entries.length, 13);
    for (const e of manifest.entries) {
      assert.equal(e.mandatory, true);
      const rel = e.url.replace(`s3://${t.bucket}/clean/output/`, '');
      assert.equal(e.meta.content_length, readTree(join(t.local, 'output')).get(rel)!.length, e.url);
    }
    assert.equal(manifest.meta.record_count, manifest.entries.reduce((n: number, e: any) => n + e.meta.record_count, 0));
    assert.ok(only(tree, '_runs/', 1), 'the run report is delivered');
    assert.ok(![...tree.keys()].some((k) => k.includes('write-check')), 'the write probe is removed');
  });

  test('a loader manifest and report larger than a part go up whole as multipart uploads', async () => {
    const t = await fresh();
    // Past 1 KiB a file goes up as a multipart upload: the manifest and the report too.
    const r = await runCli(args(t), { env: { ...s3.env(), CLEANER_DEST_PART_BYTES: '1024' } });
    assert.equal(r.code, 0, r.stderr);
    const tree = await bucketTree(t.bucket, 'clean/');
    assert.deepEqual(folder(tree, 'output'), readTree(join(t.local, 'output')));
    const manifest = only(tree, '_manifests/', 1);
    assert.ok(manifest.length > 2 * 1024, `${manifest.length} bytes`);
    const m = JSON.parse(manifest.toString());
    assert.equal(m.entries.length, 13);
    assert.equal(m.cleaner.errors.length, folder(tree, 'errors').size);
    assert.deepEqual(Object.keys(m.cleaner), ['run_id', 'source', 'rules_hash', 'version', 'errors', 'quarantined', 'already_delivered']);
    assert.ok(JSON.parse(only(tree, '_runs/', 1).toString()), 'the report is whole');
    assert.ok(![...readTree(t.local).keys()].some((k) => k.includes('.manifest-')), 'no local manifest left behind');
  });

  test('a SIGKILL inside a multipart upload, then resume: the file is complete and every part went up once', async () => {
    const t = await fresh();
    const proxy = await startWriteProxy(s3.endpoint);
    try {
      // Part 3 of the large output is never answered: the kill lands once the others went up
      // (several at a time) and were committed.
      const held = proxy.hold((q) => q.method === 'PUT' && q.url.includes('large.jsonl') && /[?&]partNumber=3(&|$)/.test(q.url));
      const child = spawnCli(args(t, '--dest-endpoint-url', proxy.endpoint), { env: { ...s3.env(), ...PART_ENV } });
      const exited = new Promise((ok) => child.on('exit', ok));
      await Promise.race([held, exited]);
      // Until no other part went up for 300 ms: their answers are in, and committed to the state.
      for (let seen = -1; seen !== storedParts(proxy.log).length; ) {
        seen = storedParts(proxy.log).length;
        await new Promise((ok) => setTimeout(ok, 300));
      }
      child.kill('SIGKILL');
      await exited;
      const before = storedParts(proxy.log).map((p) => p.split(' ')[1]);
      assert.ok(!before.includes('3') && before.length >= 2, `killed with parts ${before} stored, not 3`);
      proxy.clear();
      const r = await runCli(['resume', '--state', t.state], { env: { ...s3.env(), ...PART_ENV } });
      assert.equal(r.code, 0, r.stderr);
      const parts = storedParts(proxy.log);
      const size = readTree(join(t.local, 'output')).get('big/large.jsonl')!.length;
      const all = Array.from({ length: Math.ceil(size / (1 << 20)) }, (_, i) => String(i + 1));
      assert.ok(all.length >= 4, `${size} bytes make ${all.length} parts`);
      assert.deepEqual(parts.map((p) => p.split(' ')[1]).sort((a, b) => Number(a) - Number(b)), all, 'each part stored once, in one upload');
      assert.equal(new Set(parts.map((p) => p.split(' ')[0])).size, 1, 'the upload was resumed, not started again');
      const tree = await bucketTree(t.bucket, 'clean/');
      assert.deepEqual(folder(tree, 'output'), readTree(join(t.local, 'output')));
      assert.ok(only(tree, '_manifests/', 1));
    } finally {
      await proxy.stop();
    }
  });

  test('with the state and the local dir lost, a new run downloads nothing and re-uploads nothing', async () => {
    const t = await fresh();
    assert.equal((await runCli(args(t), { env: s3.env() })).code, 0);
    const before = await bucketTree(t.bucket, 'clean/output/');
    rmSync(t.local, { recursive: true, force: true });
    const source = await startFaultProxy({ target: s3.endpoint });
    const dest = await startWriteProxy(s3.endpoint);
    try {
      const r = await runCli(args(t, '--endpoint-url', source.endpoint, '--dest-endpoint-url', dest.endpoint), { env: s3.env() });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(source.requests.get, 0, 'no source object downloaded');
      assert.deepEqual(dest.log.filter((q) => q.method === 'PUT' && q.url.includes('/output/')), [], 'no output uploaded again');
      assert.deepEqual(await bucketTree(t.bucket, 'clean/output/'), before);
      // Both states had a run 1: the new run's manifest sits beside the first one's, not over it.
      const manifests = [...(await bucketTree(t.bucket, 'clean/_manifests/'))].sort(([a], [b]) => (a < b ? -1 : 1));
      assert.equal(manifests.length, 2, manifests.map(([k]) => k).join(', '));
      assert.ok(JSON.parse(manifests[0][1].toString()).entries.length > 0, "the first run's manifest is intact");
      const manifest = JSON.parse(manifests[1][1].toString());
      assert.equal(manifest.entries.length, 0);
      assert.equal(manifest.cleaner.already_delivered.length, 13);
    } finally {
      await source.stop();
      await dest.stop();
    }
  });

  test('a re-clean replaces the destination files, and a stale errors file goes', async () => {
    const t = await fresh();
    const key = 'data/day=1/part-1.jsonl';
    const original = await s3.get(SRC, key);
    try {
      assert.equal((await runCli(args(t), { env: s3.env() })).code, 0);
      assert.ok((await bucketTree(t.bucket, 'clean/errors/')).has('day=1/part-1.jsonl'));
      // A new version of the object without rejects.
      await s3.put(SRC, key, generateEvents({ seed: 1234, lines: 30, rejectRate: 0 }).data);
      const r = await runCli(args(t), { env: s3.env() });
      assert.equal(r.code, 0, r.stderr);
      const tree = await bucketTree(t.bucket, 'clean/');
      assert.ok(!folder(tree, 'errors').has('day=1/part-1.jsonl'), 'the stale errors file is removed');
      assert.deepEqual(folder(tree, 'output').get('day=1/part-1.jsonl'), readTree(join(t.local, 'output')).get('day=1/part-1.jsonl'));
      const manifest = JSON.parse(only(tree, '_manifests/', 2).toString());
      assert.deepEqual(manifest.entries.map((e: any) => e.url), [`s3://${t.bucket}/clean/output/day=1/part-1.jsonl`]);
    } finally {
      await s3.put(SRC, key, original);
    }
  });

  test('--delete-local leaves nothing on the local disk once the destination copy is complete', async () => {
    const t = await fresh();
    const r = await runCli(args(t, '--delete-local'), { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['input', 'output', 'errors']) assert.deepEqual([...readTree(join(t.local, f)).keys()], [], `${f}/ is empty`);
    assert.equal(folder(await bucketTree(t.bucket, 'clean/'), 'output').size, 13);
    const again = await runCli(args(t, '--delete-local'), { env: s3.env() });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([...readTree(join(t.local, 'input')).keys()], [], 'the next run downloads nothing');
  });

  test('faults at 10% on the destination (PUTs, parts, completions, HEADs, listings) are retried: the destination is what a fault-free run makes', async () => {
    const t = await fresh();
    // Stalls need the client's idle timeout to end them: 1.5 s, not the minute a real run waits.
    const proxy = await startFaultProxy({ target: s3.endpoint, rate: 0.1, seed: 7, kinds: ['503', '500', 'reset-before', 'stall'], writes: WRITE_FAULT_KINDS });
    // And, for sure, writes that happened though the client never heard: the upload's start, a part, its completion.
    const large = (url: string) => url.includes('/output/big/large.jsonl?');
    proxy.breakWrites((url) => large(url) && url.includes('uploads'), 'reset-after', 1);
    proxy.breakWrites((url) => large(url) && url.includes('partNumber=2&'), 'reset-after', 1);
    proxy.breakWrites((url) => large(url) && /[?&]uploadId=/.test(url) && !url.includes('partNumber'), 'reset-after', 1);
    try {
      const r = await runCli(args(t, '--dest-endpoint-url', proxy.endpoint), { env: { ...s3.env(), ...PART_ENV, CLEANER_S3_IDLE_TIMEOUT_MS: '1500' } });
      assert.equal(r.code, 0, r.stderr);
      const writeFaults = proxy.log.filter((f) => f.method !== 'HEAD' && f.method !== 'GET');
      assert.equal(proxy.injected['reset-after'], 3);
      assert.ok(writeFaults.length >= 6, `faults on writes: ${JSON.stringify(proxy.log)}`);
      // What a fault-free run makes (the first test): the local files, byte for byte, and a manifest of them all.
      const got = await bucketTree(t.bucket, 'clean/');
      for (const f of ['output', 'errors', 'quarantine']) assert.deepEqual(folder(got, f), readTree(join(t.local, f)), `${f}/ is the local ${f}/`);
      const local = readTree(join(t.local, 'output'));
      const entries = JSON.parse(only(got, '_manifests/', 1).toString()).entries.map((e: any) => [e.url.replace(`s3://${t.bucket}/clean/output/`, ''), e.meta.content_length]);
      assert.deepEqual(entries.sort(), [...local].map(([k, v]) => [k, v.length]).sort(), 'a manifest entry for each output, once');
    } finally {
      await proxy.stop();
    }
  });

  test('parts streamed from the local file arrive byte for byte, each stored once, also when a part is sent again', async () => {
    const t = await fresh();
    // An odd part size: no part starts or ends on a boundary of the file reads (256 KiB).
    const partBytes = 1_300_007;
    const store = await startWriteProxy(s3.endpoint);
    const faults = await startFaultProxy({ target: store.endpoint, writes: ['stall'], writeRate: 0 });
    const large = (url: string) => url.includes('/output/big/large.jsonl?');
    // Part 2's body is read to the end and never answered (the retry must read the range again);
    // part 3's connection is reset as it starts.
    faults.breakWrites((url) => large(url) && url.includes('partNumber=2&'), 'stall', 1);
    faults.breakWrites((url) => large(url) && url.includes('partNumber=3&'), 'reset-before', 1);
    try {
      const env = { ...s3.env(), CLEANER_DEST_PART_BYTES: String(partBytes), CLEANER_S3_IDLE_TIMEOUT_MS: '1500' };
      const r = await runCli(args(t, '--dest-endpoint-url', faults.endpoint), { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(faults.injected.stall + faults.injected['reset-before'], 2, JSON.stringify(faults.log));
      const local = readTree(join(t.local, 'output'));
      const size = local.get('big/large.jsonl')!.length;
      const count = Math.ceil(size / partBytes);
      assert.ok(count >= 4, `${size} bytes make ${count} parts`);
      const parts = storedParts(store.log.filter((q) => large(q.url)));
      assert.deepEqual(parts.map((p) => Number(p.split(' ')[1])).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 1), 'each part stored once');
      assert.equal(new Set(parts.map((p) => p.split(' ')[0])).size, 1, 'in one upload');
      assert.deepEqual(folder(await bucketTree(t.bucket, 'clean/'), 'output'), local, 'the destination holds the local bytes');
    } finally {
      await faults.stop();
      await store.stop();
    }
  });

  test('a delivery that keeps failing ends the run resumably, and resume finishes it', async () => {
    const t = await fresh();
    const proxy = await startFaultProxy({ target: s3.endpoint });
    proxy.breakWrites((url) => url.includes('/output/big/'), '503');
    try {
      const env = { ...s3.env(), ...PART_ENV, CLEANER_S3_MAX_ATTEMPTS: '2' };
      const r = await runCli(args(t, '--dest-endpoint-url', proxy.endpoint), { env });
      assert.notEqual(r.code, 0, 'the run fails');
      assert.match(r.stderr, /output\/big\/large\.jsonl failed after retries: Please reduce your request rate.*cleaner resume/);
      const partial = await bucketTree(t.bucket, 'clean/');
      assert.ok(!partial.has('output/big/large.jsonl'), 'the failed file is not there');
      assert.ok(![...partial.keys()].some((k) => k.startsWith('_manifests/')), 'no manifest for an unfinished delivery');
      proxy.clearWrites();
      const again = await runCli(['resume', '--state', t.state], { env });
      assert.equal(again.code, 0, again.stderr);
      const tree = await bucketTree(t.bucket, 'clean/');
      for (const f of ['output', 'errors']) assert.deepEqual(folder(tree, f), readTree(join(t.local, f)), `${f}/ is complete`);
      assert.equal(JSON.parse(only(tree, '_manifests/', 1).toString()).entries.length, 13);
    } finally {
      await proxy.stop();
    }
  });

  test('AccessDenied on the destination stops the run before any download: exit 3, one line', async () => {
    const t = await fresh();
    const dest = await startWriteProxy(s3.endpoint);
    dest.deny((q) => q.method === 'PUT');
    try {
      const r = await runCli(args(t, '--dest-endpoint-url', dest.endpoint), { env: s3.env() });
      assert.equal(r.code, 3, r.stderr);
      const errors = r.stderr.trim().split('\n').filter((l) => l.includes('error'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0], /cleaner: error: cannot write to the destination s3:\/\/deliver-dest-\d+\/clean\/: AccessDenied/);
      assert.deepEqual(readTree(join(t.local, 'input')), new Map(), 'nothing downloaded');
    } finally {
      await dest.stop();
    }
  });

  test('a destination bucket that does not exist is refused at the start', async () => {
    const t = await fresh();
    const r = await runCli(['run', '--source', `s3://${SRC}/data/`, '--local-dir', t.local, '--state', t.state, '--dest', 's3://no-such-dest/x/'], { env: s3.env() });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /does not exist/);
    assert.deepEqual(readTree(join(t.local, 'input')), new Map(), 'nothing downloaded');
  });
});
