/**
 * Nothing lost, nothing duplicated when S3 misbehaves: the real CLI reads through a proxy that
 * throttles, fails, resets, cuts short and stalls requests (test/helpers/fault-proxy.ts), and the
 * result is compared byte for byte with a run of the same data that saw no fault. Objects that
 * change or disappear after the listing, and errors that retrying cannot fix, get their own tests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3, type S3Server } from '../helpers/s3.js';
import { FAULT_KINDS, startFaultProxy, type FaultProxy, type FaultProxyOptions } from '../helpers/fault-proxy.js';
import { generateEvents, gzip, mulberry32 } from '../helpers/events.js';
import { runCli, statusJson, type CliResult } from '../helpers/cli.js';
import { expectedFor } from '../helpers/oracle.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const BUCKET = 'faults-bucket';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// A stalled body is abandoned after 1.5 s and a silent socket (a stalled listing or HEAD) after 3 s,
// instead of the 30 s and 60 s defaults, so a stall costs seconds. Loopback never idles that long.
const FAST_TIMEOUTS = { CLEANER_STALL_TIMEOUT_MS: '1500', CLEANER_S3_IDLE_TIMEOUT_MS: '3000' };
// At 10 % a run needs well over 100 reads to see each of the six kinds more than once (30 objects
// would see about 4 faults in all): 120 small objects, 3 of them gzip, and one of ~5 MB.
const OBJECTS = 120;
const FAULT_RATE = 0.1;
const MIN_PER_KIND = 2;
// Permanent errors end the run at once; retrying them for minutes would pass a looser test.
const PERMANENT_WITHIN_MS = 30_000;
// Objects are fetched whole, or as ranged parts several at a time (download-parts.ts), which by
// default only objects over 8 MiB are: 32 KiB parts give most objects here two to four parts.
const MODES: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'whole-object GETs', env: {} },
  { name: 'ranged parts', env: { CLEANER_PART_BYTES: String(32 << 10) } },
];

let s3: S3Server;
let dir: string;
let reference: { output: Map<string, Buffer>; errors: Map<string, Buffer>; totals: any };
const proxies: FaultProxy[] = [];

async function proxy(opts: Omit<FaultProxyOptions, 'target'> = {}): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: s3.endpoint, verifyCredentials: CREDENTIALS, ...opts });
  proxies.push(p);
  return p;
}

/** The CLI's environment: credentials for s3rver, the endpoint of `via`, short timeouts. */
function envVia(via: { endpoint: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { ...s3.env(), AWS_ENDPOINT_URL_S3: via.endpoint, ...FAST_TIMEOUTS, ...extra };
}

function runArgs(prefix: string, local: string, bucket = BUCKET): string[] {
  return ['run', '--source', `s3://${bucket}/${prefix}`, '--local-dir', local, '--state', join(local, 'state.db'), '--concurrency', '8'];
}

function events(seed: number, lines: number): Buffer {
  return generateEvents({ seed, lines, rejectRate: 0.05, blankRate: 0.01 }).data;
}

async function etagOf(key: string): Promise<string> {
  return (await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!;
}

/** Asserts the CLI ended with exit 3 and one clear line on stderr, no stack, within the limit. */
function assertPermanent(r: CliResult, ms: number, mentions: RegExp): void {
  assert.equal(r.code, 3, `exit code 3 (S3 permanent error); stderr: ${r.stderr}`);
  assert.ok(ms < PERMANENT_WITHIN_MS, `ended after ${ms} ms, within ${PERMANENT_WITHIN_MS} ms`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^cleaner: error: /);
  assert.match(lines[0], mentions);
  assert.doesNotMatch(r.stderr, /^ {4}at /m, 'no stack trace');
}

async function timed(p: Promise<CliResult>): Promise<[CliResult, number]> {
  const t = Date.now();
  const r = await p;
  return [r, Date.now() - t];
}

describe('S3 faults lose nothing and duplicate nothing', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-faults-'));
    const rand = mulberry32(2026);
    const entries: Array<[string, Buffer]> = [];
    for (let i = 0; i < OBJECTS; i++) {
      // 40 to 230 lines of ~530 bytes: 20 to 120 KB.
      const data = events(500 + i, 40 + Math.floor(rand() * 190));
      const gz = i % 50 === 7;
      entries.push([`data/part-${String(i).padStart(3, '0')}.jsonl${gz ? '.gz' : ''}`, gz ? gzip(data) : data]);
    }
    entries.push(['data/big/large.jsonl', events(9, 10_000)]);
    await s3.putMany(BUCKET, entries, 8);

    const local = join(dir, 'reference');
    const r = await runCli(runArgs('data/', local), { env: s3.env(), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    reference = { output: readTree(join(local, 'output')), errors: readTree(join(local, 'errors')), totals: (await statusJson(join(local, 'state.db'))).totals };
    assert.equal(reference.output.size, entries.length);
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the proxy keeps signatures valid, checks them as S3 does, and breaks only reads', async () => {
    const p = await proxy({ rate: 1 });
    const client = (endpoint: string, secretAccessKey: string) =>
      new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'S3RVER', secretAccessKey } });
    const good = client(p.endpoint, 'S3RVER');
    const wrong = client(p.endpoint, 'not-the-secret');
    const wrongDirect = client(s3.endpoint, 'not-the-secret');
    try {
      // Writes pass untouched at a 100 % fault rate, and their signatures verify behind the proxy.
      await good.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'proxy-check/a b+c.jsonl', Body: 'x\n' }));
      assert.deepEqual(await s3.get(BUCKET, 'proxy-check/a b+c.jsonl'), Buffer.from('x\n'));
      assert.equal(Object.values(p.injected).reduce((a, b) => a + b, 0), 0, 'no fault on a PUT');
      p.setRate(0);
      const listed = await good.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'proxy-check/' }));
      assert.deepEqual(listed.Contents?.map((o) => o.Key), ['proxy-check/a b+c.jsonl']);
      const got = await good.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'proxy-check/a b+c.jsonl', Range: 'bytes=1-' }));
      assert.equal(await got.Body!.transformToString(), '\n');
      // s3rver 3.7.1 never checks a SigV4 signature, which is why the proxy does.
      assert.ok((await wrongDirect.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'proxy-check/' }))).Contents);
      await assert.rejects(wrong.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'proxy-check/' })), { name: 'SignatureDoesNotMatch' });
    } finally {
      for (const c of [good, wrong, wrongDirect]) c.destroy();
      await s3.delete(BUCKET, 'proxy-check/a b+c.jsonl');
    }
  });

  for (const mode of MODES) {
    test(`a run through ${FAULT_RATE * 100} % faults of every kind gives the same files as a run with none (${mode.name})`, async () => {
      const p = await proxy({ rate: FAULT_RATE, seed: 7 });
      const local = join(dir, `faulty-${mode.name}`);
      const r = await runCli(runArgs('data/', local), { env: envVia(p, mode.env), timeoutMs: 120_000 });
      const faults = `${JSON.stringify(p.injected)} over ${JSON.stringify(p.requests)}`;
      assert.equal(r.code, 0, `${r.stderr}\nfaults: ${faults}`);
      for (const kind of FAULT_KINDS) assert.ok(p.injected[kind] >= MIN_PER_KIND, `at least ${MIN_PER_KIND} faults of kind ${kind}: ${faults}`);
      assert.deepEqual(diffTrees(reference.output, readTree(join(local, 'output'))), [], 'output/ equals the fault-free run');
      assert.deepEqual(diffTrees(reference.errors, readTree(join(local, 'errors'))), [], 'errors/ equals the fault-free run');
      assert.deepEqual((await statusJson(join(local, 'state.db'))).totals, reference.totals);
      assert.equal(readTree(join(local, '.cleaner', 'partial', 'input')).size, 0, 'no partial download left behind');
      process.stdout.write(`# injected ${faults}\n`);
    });
  }

  test('a listing that stalls, breaks or is refused five times in a row is retried until it succeeds', async () => {
    const prefix = 'listing/';
    await s3.putMany(BUCKET, [0, 1, 2].map((i) => [`${prefix}part-${i}.jsonl`, events(20 + i, 100)]));
    const p = await proxy();
    // Five failed attempts of the SDK's six; the stall ends only by the client's idle timeout. The
    // throttle comes first, where the SDK's backoff for it (500 ms doubling) is shortest.
    p.breakNext('list', ['503', '500', 'reset-during', 'short-body', 'stall']);
    const local = join(dir, 'listing');
    const r = await runCli(runArgs(prefix, local), { env: envVia(p), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.requests.list, 6, 'five broken listings, then one that worked');
    assert.deepEqual(p.injected, { '503': 1, '500': 1, 'reset-before': 0, 'reset-during': 1, 'short-body': 1, stall: 1, 'reset-after': 0, slow: 0 }, 'the write-only faults (reset-after, slow) never touch a listing');
    assert.equal((await statusJson(join(local, 'state.db'))).totals.objects_done, 3);
  });

  // S3 answers a stale If-Match with 412; s3rver, like some S3-compatible stores, ignores it.
  for (const mode of MODES) {
    for (const ifMatch of ['enforce', 'ignore'] as const) {
      test(`an object that changes after listing is cleaned from its new version, with no byte of the old (If-Match ${ifMatch === 'enforce' ? 'honoured' : 'ignored'}, ${mode.name})`, async () => {
        const prefix = `changing-${ifMatch}-${mode.env.CLEANER_PART_BYTES ? 'parts' : 'whole'}/`;
        const stable = `${prefix}stable.jsonl`;
        const afterListing = `${prefix}after-listing.jsonl`;
        const midDownload = `${prefix}mid-download.jsonl`;
        const v1 = new Map([[stable, events(1, 300)], [afterListing, events(2, 400)], [midDownload, events(3, 600)]]);
        // New versions of other lengths: a mix of old and new bytes could not pass for either.
        const v2 = new Map([[afterListing, events(4, 250)], [midDownload, events(5, 900)]]);
        await s3.putMany(BUCKET, [...v1]);
        const p = await proxy({ ifMatch });
        p.afterListing(() => s3.put(BUCKET, afterListing, v2.get(afterListing)!));
        p.duringFirstGet(BUCKET, midDownload, () => s3.put(BUCKET, midDownload, v2.get(midDownload)!));

        const local = join(dir, prefix);
        const r = await runCli(runArgs(prefix, local), { env: envVia(p, mode.env), timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        for (const key of [afterListing, midDownload]) {
          const rel = key.slice(prefix.length);
          const now = v2.get(key)!;
          assert.ok(readFileSync(join(local, 'input', rel)).equals(now), `the downloaded ${key} is exactly its new version`);
          const e = expectedFor(now);
          assert.ok(readFileSync(join(local, 'output', rel)).equals(e.output), `the output of ${key} is the new version's valid lines`);
          const records = readFileSync(join(local, 'errors', rel), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
          assert.equal(records.length, e.rejected);
          const etag = await etagOf(key);
          for (const rec of records) assert.equal(rec.etag, etag, `reject records of ${key} name the new version`);
        }
        assert.ok(readFileSync(join(local, 'output', 'stable.jsonl')).equals(expectedFor(v1.get(stable)!).output));
        const status = await statusJson(join(local, 'state.db'));
        assert.equal(status.totals.objects_done, 3);
        const lines = [v1.get(stable)!, ...v2.values()].reduce((n, b) => n + expectedFor(b).lines, 0);
        assert.equal(status.totals.lines, lines, 'lines counted once, from the versions cleaned');
      });
    }
  }

  for (const mode of MODES) {
    test(`an object deleted after listing is recorded as gone, and the rest is done (${mode.name})`, async () => {
      const prefix = `vanishing-${mode.env.CLEANER_PART_BYTES ? 'parts' : 'whole'}/`;
      const keys = [0, 1, 2, 3, 4].map((i) => `${prefix}part-${i}.jsonl`);
      await s3.putMany(BUCKET, keys.map((k, i) => [k, events(40 + i, 200)]));
      const p = await proxy();
      p.afterListing(() => s3.delete(BUCKET, keys[2]));
      const local = join(dir, prefix);
      const r = await runCli(runArgs(prefix, local), { env: envVia(p, mode.env), timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /deleted from the source after listing/);
      const status = await statusJson(join(local, 'state.db'));
      assert.deepEqual(
        { objects: status.totals.objects, done: status.totals.objects_done, gone: status.totals.objects_gone, failed: status.totals.objects_failed },
        { objects: 5, done: 4, gone: 1, failed: 0 },
      );
      assert.deepEqual([...readTree(join(local, 'output')).keys()].sort(), ['part-0.jsonl', 'part-1.jsonl', 'part-3.jsonl', 'part-4.jsonl']);
      assert.equal(readTree(join(local, '.cleaner', 'partial', 'input')).size, 0, 'no partial download left behind');
    });
  }

  describe('errors that retrying cannot fix end the run at once with one clear line and exit 3', () => {
    const prefix = 'permanent/';
    before(async () => {
      await s3.putMany(BUCKET, [0, 1, 2, 3, 4, 5].map((i) => [`${prefix}part-${i}.jsonl`, events(60 + i, 200)]));
    });

    test('a wrong secret key (SignatureDoesNotMatch)', async () => {
      const p = await proxy();
      const [r, ms] = await timed(runCli([...runArgs(prefix, join(dir, 'wrong-secret')), '--quiet'], { env: envVia(p, { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }) }));
      assertPermanent(r, ms, /SignatureDoesNotMatch/);
    });

    test('an unknown access key id (InvalidAccessKeyId)', async () => {
      const p = await proxy();
      const [r, ms] = await timed(runCli([...runArgs(prefix, join(dir, 'wrong-key')), '--quiet'], { env: envVia(p, { AWS_ACCESS_KEY_ID: 'AKIANOTAREALKEY00000' }) }));
      assertPermanent(r, ms, /InvalidAccessKeyId/);
    });

    test('a bucket that does not exist (NoSuchBucket)', async () => {
      const p = await proxy();
      const [r, ms] = await timed(runCli([...runArgs(prefix, join(dir, 'no-bucket'), 'no-such-bucket'), '--quiet'], { env: envVia(p) }));
      assertPermanent(r, ms, /NoSuchBucket.*--bucket/);
    });

    test('an object the credentials may not read (AccessDenied)', async () => {
      const p = await proxy();
      p.deny(BUCKET, `${prefix}part-3.jsonl`);
      const [r, ms] = await timed(runCli([...runArgs(prefix, join(dir, 'denied')), '--quiet'], { env: envVia(p) }));
      assertPermanent(r, ms, /part-3\.jsonl.*AccessDenied/);
    });
  });
});
