/**
 * SIGKILLs at seeded random moments of delivery (small PUTs and multipart uploads, several objects
 * in flight), each followed by `cleaner resume` (killed in turn), then a last resume: the
 * destination holds every file once, the same bytes as the local files, nothing more.
 *
 * CLEANER_DELIVER_KILLS sets the number of kills (default 4, to stay within npm test's budget).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, mulberry32 } from '../helpers/events.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { readTree } from '../helpers/tree.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startWriteProxy, storedParts, type WriteProxy } from '../helpers/write-proxy.js';

const KILLS = Number(process.env.CLEANER_DELIVER_KILLS ?? 4);
const SRC = 'kill-src';
const DEST = 'kill-dest';
// Parts of 1 MiB, the smallest cleaner makes: the two large outputs go up in 3 parts each.
const ENV = { CLEANER_DEST_PART_BYTES: String(1 << 20) };

let s3: S3Server;
let dir: string;
let slow: FaultProxy;
let writes: WriteProxy;

/** Every object of the destination bucket, by key. */
async function destTree(): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: DEST, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, await s3.get(DEST, o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** Writes answered under output/ or errors/ of the destination so far. */
const delivered = () => writes.log.filter((q) => q.method === 'PUT' && /\/(output|errors)\//.test(q.url)).length;

/** Runs the CLI and SIGKILLs it `wait` delivery writes after it started, plus `jitter` ms; true if it was killed, false if it finished first. */
async function killAfter(argv: string[], wait: number, jitter: number): Promise<boolean> {
  const child = spawnCli(argv, { env: { ...s3.env(), ...ENV } });
  let stderr = '';
  child.stderr!.on('data', (s) => (stderr += s));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const start = delivered();
  for (;;) {
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2))]);
    if (done) {
      assert.equal(await exited, 0, stderr);
      return false;
    }
    if (delivered() - start >= wait) break;
  }
  await new Promise((r) => setTimeout(r, jitter));
  child.kill('SIGKILL');
  await exited;
  return true;
}

describe('SIGKILLs during delivery', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(SRC);
    await s3.createBucket(DEST);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-deliver-kill-'));
    const entries: Array<[string, Buffer]> = [];
    for (let i = 0; i < 24; i++) entries.push([`data/p=${i % 4}/part-${i}.jsonl`, generateEvents({ seed: 50 + i, lines: 30 + i, rejectRate: i % 3 === 0 ? 0 : 0.2 }).data]);
    // About 3 MiB of valid lines each: multipart uploads of 3 parts.
    for (const n of [1, 2]) entries.push([`data/big/large-${n}.jsonl`, generateEvents({ seed: 900 + n, lines: 5_400, rejectRate: 0.01 }).data]);
    await s3.putMany(SRC, entries);
    // Writes reach s3rver through a log of what it stored, behind a proxy that slows a third of
    // them to about 3 MB/s, so kills land inside uploads and parts as well as between them.
    writes = await startWriteProxy(s3.endpoint);
    slow = await startFaultProxy({ target: writes.endpoint, writes: ['slow'], writeRate: 0.35, seed: 3 });
  });
  after(async () => {
    await slow?.stop();
    await writes?.stop();
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(`${KILLS} random SIGKILLs during delivery, then resume: nothing missing, nothing twice, no stale file`, { timeout: 60_000 + KILLS * 10_000 }, async () => {
    const local = join(dir, 'local');
    const state = join(local, 'state.db');
    const rand = mulberry32(KILLS);
    const run = ['run', '--source', `s3://${SRC}/data/`, '--local-dir', local, '--state', state, '--dest', `s3://${DEST}/clean/`, '--dest-endpoint-url', slow.endpoint, '--concurrency', '4'];
    let kills = 0;
    let argv = run;
    while (kills < KILLS) {
      if (!(await killAfter(argv, 1 + Math.floor(rand() * 8), Math.floor(rand() * 30)))) break;
      kills++;
      argv = ['resume', '--state', state];
    }
    if (argv !== run) {
      const last = await runCli(argv, { env: { ...s3.env(), ...ENV } });
      assert.equal(last.code, 0, last.stderr);
    }
    assert.ok(kills >= Math.min(KILLS, 2), `${kills} kills landed`);

    const tree = await destTree();
    const at = (f: string) => new Map([...tree].filter(([k]) => k.startsWith(`clean/${f}/`)).map(([k, v]) => [k.slice(`clean/${f}/`.length), v]));
    for (const f of ['output', 'errors']) assert.deepEqual(at(f), readTree(join(local, f)), `${f}/ at the destination is the local ${f}/, no more, no less`);
    const others = [...tree.keys()].filter((k) => !/^clean\/(output|errors|_runs|_manifests)\//.test(k));
    assert.deepEqual(others, [], 'nothing else at the destination (no write probe, no quarantine)');
    const manifests = [...tree.keys()].filter((k) => k.startsWith('clean/_manifests/'));
    assert.equal(manifests.length, 1, manifests.join(', '));
    const manifest = JSON.parse(tree.get(manifests[0])!.toString());
    assert.equal(manifest.entries.length, 26);
    assert.equal(new Set(manifest.entries.map((e: any) => e.url)).size, 26, 'each output listed once');

    // A part can go up twice only when a kill landed between its store and its commit: at most
    // the parts in flight (PART_SLOTS, 2; 4 allows for a change of it) per kill.
    const parts = storedParts(writes.log);
    const again = parts.length - new Set(parts).size;
    assert.ok(again <= 4 * kills, `${again} part(s) stored twice in one upload with ${kills} kills`);
  });
});
