/**
 * N copies of cleaner split one prefix with no coordinator: run as 4 processes in parallel against
 * a real S3 server, their outputs together are exactly a single process's, and no key is cleaned twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { runCli, statusJson } from '../helpers/cli.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { shardOf } from '../../src/keys/shard.js';
import { spawnCli } from '../helpers/cli.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

const BUCKET = 'shard-bucket';
const N = 4;
let s3: S3Server;
let dir: string;
const keys: string[] = [];

describe('shards', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    const objects: Array<[string, Buffer]> = [];
    for (let i = 0; i < 48; i++) {
      const ev = generateEvents({ seed: 300 + i, lines: 20, rejectRate: 0.1, blankRate: 0.05 }).data;
      const key = `events/2026/11/${String(1 + (i % 30)).padStart(2, '0')}/part-${i}.jsonl${i % 5 === 0 ? '.gz' : ''}`;
      keys.push(key);
      objects.push([key, i % 5 === 0 ? gzip(ev) : ev]);
    }
    await s3.putMany(BUCKET, objects);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-shards-'));
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('4 shards in parallel clean exactly what one process cleans, each key once', async () => {
    const whole = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', join(dir, 'whole'), '--state', join(dir, 'whole.db')], { env: s3.env() });
    assert.equal(whole.code, 0, whole.stderr);

    const shards = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', join(dir, `shard-${i}`), '--state', join(dir, `shard-${i}.db`), '--shard', `${i}/${N}`], { env: s3.env() }),
      ),
    );
    shards.forEach((r, i) => assert.equal(r.code, 0, `shard ${i}: ${r.stderr}`));

    for (const sub of ['output', 'errors']) {
      const union = new Map<string, Buffer>();
      for (let i = 0; i < N; i++) {
        for (const [k, v] of readTree(join(dir, `shard-${i}`, sub))) {
          assert.ok(!union.has(k), `${sub}/${k} written by two shards`);
          union.set(k, v);
        }
      }
      assert.deepEqual(diffTrees(readTree(join(dir, 'whole', sub)), union), [], `${sub}: the union of the shards is the single run`);
    }
    let cleaned = 0;
    for (let i = 0; i < N; i++) {
      const st = await statusJson(join(dir, `shard-${i}.db`));
      assert.equal(st.totals.objects + st.totals.objects_other_shards, keys.length, `shard ${i} listed every key`);
      cleaned += st.totals.objects;
    }
    assert.equal(cleaned, keys.length, 'each key cleaned by exactly one shard');
  });

  test('under a Kubernetes Indexed Job the shard comes from JOB_COMPLETION_INDEX and CLEANER_SHARDS, with a state of its own', async () => {
    const cwd = join(dir, 'pod');
    mkdirSync(cwd);
    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', 'work'], { cwd, env: { ...s3.env(), JOB_COMPLETION_INDEX: '2', CLEANER_SHARDS: '4' } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(cwd, 'state', 'cleaner-shard-2-of-4.db')));
    const mine = readTree(join(cwd, 'work', 'output'));
    assert.deepEqual([...mine.keys()].sort(), [...readTree(join(dir, 'shard-2', 'output')).keys()].sort());

    const missingCount = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', 'work'], { cwd, env: { ...s3.env(), JOB_COMPLETION_INDEX: '2' } });
    assert.equal(missingCount.code, 2);
    assert.match(missingCount.stderr, /JOB_COMPLETION_INDEX is set but CLEANER_SHARDS is not/);
  });

  test('a shard with no keys of its own succeeds', async () => {
    const key = 'events/2026/11/02/part-1.jsonl';
    const idle = (shardOf(key, 4) + 1) % 4;
    const r = await runCli(['run', '--source', `s3://${BUCKET}/${key}`, '--local-dir', join(dir, 'idle'), '--state', join(dir, 'idle.db'), '--shard', `${idle}/4`], { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    const st = await statusJson(join(dir, 'idle.db'));
    assert.deepEqual([st.totals.objects, st.totals.objects_other_shards], [0, 1]);
  });

  test('4 shards deliver into one destination; status --dest and gate see the whole job; reruns on empty disks redo only what is unfinished', async () => {
    await s3.createBucket('shard-dest');
    const dest = 's3://shard-dest/clean/';
    const shardRun = (i: number, tag: string, endpoint = s3.endpoint) =>
      ['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', join(dir, `${tag}-${i}`), '--state', join(dir, `${tag}-${i}.db`), '--shard', `${i}/${N}`, '--dest', dest, '--endpoint-url', endpoint];
    const first = await Promise.all(Array.from({ length: N }, (_, i) => runCli(shardRun(i, 'd1'), { env: s3.env() })));
    first.forEach((r, i) => assert.equal(r.code, 0, `shard ${i}: ${r.stderr}`));
    const whole = readTree(join(dir, 'whole', 'output'));
    const delivered = async () => {
      const out = new Map<string, Buffer>();
      for (const k of keys) {
        const rel = k.slice('events/'.length);
        const body = await s3.get('shard-dest', `clean/output/${rel}`).catch(() => undefined);
        if (body) out.set(rel, body);
      }
      return out;
    };
    assert.deepEqual(diffTrees(whole, await delivered()), [], 'the destination holds exactly the single run\'s output');

    const st = await runCli(['status', '--dest', dest, '--json'], { env: s3.env() });
    assert.equal(st.code, 0, st.stderr);
    const view = JSON.parse(st.stdout);
    assert.deepEqual(view.shards.map((x: { shard: string }) => x.shard), ['0/4', '1/4', '2/4', '3/4']);
    assert.deepEqual(view.missing, []);
    assert.equal(view.totals.objects, keys.length);
    const text = await runCli(['status', '--dest', dest], { env: s3.env() });
    assert.match(text.stdout, /shard 3\/4 +run 1 done \(exit 0\)/);

    const pass = await runCli(['gate', '--dest', dest, '--max-error-rate', '50%'], { env: s3.env() });
    assert.equal(pass.code, 0, pass.stderr);
    assert.match(pass.stderr, /quality gate passed over 4 shard\(s\)/);
    const breach = await runCli(['gate', '--dest', dest, '--max-error-rate', '1%'], { env: s3.env() });
    assert.equal(breach.code, 5, breach.stderr);
    assert.match(breach.stderr, /quality gate breached over 4 shard\(s\): error rate .* is above 1\.00%/);

    // Pods retried on empty disks: every shard of a new job (into another prefix) is SIGKILLed at a
    // random instant, rerun with an empty local dir and no state until it finishes; then the whole
    // job once more, where nothing is left to download.
    const dest2 = 's3://shard-dest/again/';
    const run2 = (i: number, tag: string, endpoint = s3.endpoint) => [...shardRun(i, tag, endpoint).slice(0, -4), '--dest', dest2, '--endpoint-url', endpoint];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        for (let attempt = 0; ; attempt++) {
          const tag = `k${attempt}`;
          if (attempt < 2) {
            const child = spawnCli(run2(i, tag), { env: s3.env() });
            const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
            const timer = setTimeout(() => child.kill('SIGKILL'), 100 + rand() * 900);
            const code = await closed;
            clearTimeout(timer);
            if (code === 0) return;
            continue;
          }
          const r = await runCli(run2(i, tag), { env: s3.env() });
          assert.equal(r.code, 0, `shard ${i} after kills: ${r.stderr}`);
          return;
        }
      }),
    );
    const delivered2 = new Map<string, Buffer>();
    for (const k of keys) {
      const rel = k.slice('events/'.length);
      const body = await s3.get('shard-dest', `again/output/${rel}`).catch(() => undefined);
      if (body) delivered2.set(rel, body);
    }
    assert.deepEqual(diffTrees(whole, delivered2), [], 'after kills and reruns on empty disks, exactly the single run\'s output');
    const proxy = await startFaultProxy({ target: s3.endpoint });
    try {
      const again = await Promise.all(Array.from({ length: N }, (_, i) => runCli(run2(i, 'final', proxy.endpoint), { env: s3.env() })));
      again.forEach((r, i) => assert.equal(r.code, 0, `shard ${i} again: ${r.stderr}`));
      assert.equal(proxy.requests.get, 0, 'no source object downloaded again: all were complete at the destination');
    } finally {
      await proxy.stop();
    }
    assert.deepEqual(diffTrees(whole, await delivered()), [], 'the first job\'s destination is untouched');

    // A shard that never reports keeps the gate shut.
    const missing = await runCli(['gate', '--dest', 's3://shard-dest/other/', '--max-error-rate', '50%'], { env: s3.env() });
    assert.equal(missing.code, 4, missing.stderr);
  });

  test('a DuckDB load is refused with more than one shard, before any work', async () => {
    const r = await runCli(['run', '--source', `s3://${BUCKET}/events/`, '--local-dir', join(dir, 'duck'), '--state', join(dir, 'duck.db'), '--shard', '0/2', '--load', `duckdb:${join(dir, 'w.duckdb')}`], { env: s3.env() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /DuckDB takes one writer at a time/);
    assert.ok(!existsSync(join(dir, 'duck.db')));
  });
});
