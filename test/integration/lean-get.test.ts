/**
 * The lean GET of small objects (src/s3/lean-get.ts) against real s3rver, through the fault proxy,
 * which checks every SigV4 signature as S3 does: it brings the listed version's bytes, and brings
 * nothing at all on a changed object, a 403 or a 5xx, leaving those to the SDK path, which the
 * CLI runs here show still ending the run (AccessDenied) or retrying (5xx, resets).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { leanGet, type LeanGet } from '../../src/s3/lean-get.js';
import { smallFetcher } from '../../src/stages/download-small.js';
import type { ObjectRow } from '../../src/state/queries.js';
import { startS3, type S3Server } from '../helpers/s3.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { runCli, statusJson } from '../helpers/cli.js';

const BUCKET = 'lean-bucket';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// Keys whose path the signer and S3 must encode alike: spaces, +, RFC 3986 reserved marks, UTF-8.
const OBJECTS: Array<[string, string]> = [
  ['in/plain.jsonl', '{"id":1}\n'],
  ['in/a b+c (1)!*\'.jsonl', '{"id":2}\n{"id":3}\n'],
  ['in/dé/jà=~.jsonl', '{"id":4}\n'],
];

let s3: S3Server;
let dir: string;
const proxies: FaultProxy[] = [];

async function proxy(ifMatch: 'enforce' | 'ignore' = 'enforce'): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: s3.endpoint, verifyCredentials: CREDENTIALS, ifMatch });
  proxies.push(p);
  return p;
}

function clientOf(p: FaultProxy, credentials = CREDENTIALS): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint: p.endpoint, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 1 });
}

async function etagOf(key: string): Promise<string> {
  return (await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!;
}

async function lean(p: FaultProxy, credentials = CREDENTIALS): Promise<LeanGet> {
  const get = await leanGet(clientOf(p, credentials), BUCKET, 4);
  assert.ok(get, 'a path-style endpoint with plain SigV4 takes the lean GET');
  return get;
}

const signal = () => AbortSignal.timeout(10_000);

describe('the lean GET of small objects', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    for (const [key, body] of OBJECTS) await s3.put(BUCKET, key, body);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-lean-'));
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('brings the listed version whole, signed as S3 checks it, whatever the key', async () => {
    const p = await proxy();
    const get = await lean(p);
    for (const [key, body] of OBJECTS) {
      const etag = await etagOf(key);
      const got = await get(key, etag, body.length, signal());
      assert.ok(got, `${key}: a body`);
      assert.equal(got.body.toString(), body);
      assert.equal(got.etag, etag);
    }
  });

  test('brings nothing for another version: If-Match where the store enforces it, the ETag compared where it does not', async () => {
    const [key, body] = OBJECTS[0];
    const stale = '"0123456789abcdef0123456789abcdef"';
    assert.equal(await (await lean(await proxy('enforce')))(key, stale, body.length, signal()), undefined);
    const ignoring = await proxy('ignore');
    const fetch = await smallFetcher(clientOf(ignoring), BUCKET, 4);
    const row = { key, etag: stale, size: body.length } as ObjectRow;
    assert.equal(await fetch(row), undefined, 'another ETag is no body');
    assert.equal((await fetch({ ...row, etag: await etagOf(key) }))?.toString(), body, 'the listed ETag is');
  });

  test('brings nothing for another size, a 403 or a 5xx, and the connection goes on serving', async () => {
    const p = await proxy();
    const get = await lean(p);
    const [key, body] = OBJECTS[1];
    const etag = await etagOf(key);
    assert.equal(await get(key, etag, body.length + 1, signal()), undefined, 'a size other than the listing');
    assert.equal(await (await lean(p, { ...CREDENTIALS, secretAccessKey: 'wrong' }))(key, etag, body.length, signal()), undefined, 'SignatureDoesNotMatch');
    for (const kind of ['503', '500', 'reset-before', 'reset-during', 'short-body'] as const) {
      p.breakNext('get', [kind]);
      assert.equal(await get(key, etag, body.length, signal()), undefined, kind);
    }
    p.deny(BUCKET, key);
    assert.equal(await get(key, etag, body.length, signal()), undefined, 'AccessDenied');
    assert.equal((await get(OBJECTS[0][0], await etagOf(OBJECTS[0][0]), OBJECTS[0][1].length, signal()))?.body.toString(), OBJECTS[0][1]);
  });

  test('a run whose lean GETs fail with 5xx and resets retries them the SDK way and cleans every object', async () => {
    const p = await proxy();
    p.breakNext('get', ['503', '500', 'reset-before', '503', 'reset-during', 'short-body']);
    const local = join(dir, 'retried');
    const r = await runCli(['run', '--source', `s3://${BUCKET}/in/`, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet'], {
      env: { ...s3.env(), AWS_ENDPOINT_URL_S3: p.endpoint },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(p.injected['503'] + p.injected['500'] + p.injected['reset-before'] >= 3, 'the faults were served');
    const totals = (await statusJson(join(local, 'state.db'))).totals;
    assert.equal(totals.objects_done, OBJECTS.length);
    assert.equal(totals.lines, 4, 'every line of every object, once');
    assert.equal(totals.bytes, OBJECTS.reduce((n, [, body]) => n + body.length, 0));
  });

  test('a run whose lean GET meets AccessDenied ends with the SDK path\'s one-line permanent error', async () => {
    const p = await proxy();
    p.deny(BUCKET, OBJECTS[2][0]);
    const local = join(dir, 'denied');
    const r = await runCli(['run', '--source', `s3://${BUCKET}/in/`, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet'], {
      env: { ...s3.env(), AWS_ENDPOINT_URL_S3: p.endpoint },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /AccessDenied/);
  });
});
