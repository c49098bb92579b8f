/**
 * One large object cleaned in blocks by several threads (src/stages/clean-ranged.ts) gives exactly
 * what one thread gives: the same output and errors files byte for byte (reject records with the
 * same line numbers and offsets), the same counters and rule figures in the state; and a SIGKILL
 * at any point of a split clean, followed by resume, loses and duplicates nothing.
 *
 * Blocks are made small (CLEANER_BLOCK_BYTES) so a few MB give dozens of block boundaries, some
 * inside overlong lines that span several blocks.
 *
 * From S3, such an object is cleaned while its ranged parts arrive (cleanWhileDownloading): the
 * same holds there, against a run that downloads the object whole and cleans it with one thread.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateEvents, mulberry32 } from '../helpers/events.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startS3, type S3Server } from '../helpers/s3.js';
import { startThrottleProxy, type ThrottleProxy } from '../helpers/throttle-proxy.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const BLOCK = 65536;
const SPLIT = { CLEANER_BLOCK_BYTES: String(BLOCK), CLEANER_SPLIT_MIN_BYTES: '0' };
const WHOLE = { CLEANER_SPLIT_MIN_BYTES: String(2 ** 50) };
let dir: string;

/** A file with every kind of line, and lines starting exactly on a block boundary. */
function hostileFile(seed: number, lines: number): Buffer {
  const rand = mulberry32(seed);
  const parts: Buffer[] = [Buffer.from([0xef, 0xbb, 0xbf])];
  let size = 3;
  const add = (b: Buffer | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    parts.push(buf);
    size += buf.length;
  };
  // Pad so that the next line starts exactly at the first block boundary.
  add(`{"pad":"${'x'.repeat(BLOCK - size - 11)}"}\n`);
  assert.equal(size, BLOCK);
  const events = generateEvents({ seed, lines, rejectRate: 0.08, blankRate: 0.02 }).data.toString('utf8').split('\n');
  for (const e of events.slice(0, -1)) {
    const r = rand();
    if (r < 0.01) add(`{"long":"${'y'.repeat(30_000 + Math.floor(rand() * 200_000))}"}${rand() < 0.5 ? '\r\n' : '\n'}`); // overlong
    else if (r < 0.02) add(Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}\n')]));
    else if (r < 0.03) add(`${e}\r\n`);
    else if (r < 0.035) add(`{"a":"lone\rcr"}\n`);
    else add(`${e}\n`);
  }
  add('{"event_id":"no newline at the end"}');
  return Buffer.concat(parts);
}

function args(src: string, local: string): string[] {
  return ['run', '--source', src, '--local-dir', local, '--state', join(local, 'state.db'), '--threads', '2', '--max-line-bytes', '20000', '--checkpoint-bytes', '65536', '--quiet'];
}

/** What the state says about the object, as a resume would need it. */
function stateOf(local: string) {
  const db = new Database(join(local, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT state, lines, valid, rejected, blank, by_reason, by_rule, out_len, err_len, clean_offset, input_bytes FROM objects ORDER BY key').all();
  } finally {
    db.close();
  }
}

type Snapshot = { output: Map<string, Buffer>; errors: Map<string, Buffer>; state: unknown[] };

/** What a run left in `local`: its published files and the state of its objects. */
function snapshot(local: string): Snapshot {
  return { output: readTree(join(local, 'output')), errors: readTree(join(local, 'errors')), state: stateOf(local) };
}

/** The same files byte for byte, and the same counters, offsets and rule figures, as `reference`. */
function assertSameAs(local: string, reference: Snapshot): void {
  assert.deepEqual(diffTrees(reference.output, readTree(join(local, 'output'))), []);
  assert.deepEqual(diffTrees(reference.errors, readTree(join(local, 'errors'))), []);
  assert.deepEqual(stateOf(local), reference.state);
}

/**
 * Runs the CLI and SIGKILLs it once `file` holds `at` bytes; 'finished' when it ended first (with
 * exit 0, asserted). Starts with `first`, and goes on with `resume` after each kill.
 */
async function killRounds(first: string[], local: string, env: Record<string, string>, file: string, sizes: () => number, rounds: number): Promise<number> {
  let kills = 0;
  let next = first;
  for (let round = 0; round < rounds; round++) {
    const at = sizes();
    const child = spawnCli(next, { env });
    let stderr = '';
    child.stderr!.on('data', (s) => (stderr += s));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let killed = false;
    while (!(await Promise.race([exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 2))]))) {
      if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) >= at) {
        child.kill('SIGKILL');
        await exited;
        killed = true;
        break;
      }
    }
    if (!killed) {
      assert.equal(await exited, 0, stderr);
      break;
    }
    kills++;
    next = ['resume', '--state', join(local, 'state.db'), '--quiet'];
  }
  return kills;
}

describe('a large object split over threads gives what one thread gives', () => {
  let src: string;
  let reference: Snapshot;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-ranged-'));
    src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'big.jsonl'), hostileFile(5, 30_000));
    const local = join(dir, 'whole');
    const r = await runCli(args(src, local), { env: WHOLE, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    reference = snapshot(local);
    assert.ok(reference.errors.get('big.jsonl')!.length > 0);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('same files byte for byte, same counters and rule figures', async () => {
    const local = join(dir, 'split');
    const r = await runCli(args(src, local), { env: SPLIT, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(join(src, 'big.jsonl')).size > 40 * BLOCK, 'dozens of blocks');
    assertSameAs(local, reference);
  });

  test('SIGKILLs at many points of a split clean, each followed by resume, lose and duplicate nothing', async () => {
    const local = join(dir, 'kill');
    const partial = join(local, '.cleaner', 'partial', 'output', 'big.jsonl');
    const total = reference.output.get('big.jsonl')!.length;
    const rand = mulberry32(Number(process.env.CRASH_SEED ?? 7));
    const kills = await killRounds(args(src, local), local, SPLIT, partial, () => total * (0.1 + 0.8 * rand()), 8);
    const r = await runCli(['resume', '--state', join(local, 'state.db')], { env: SPLIT, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(kills >= 2, `expected at least 2 kills mid-clean, got ${kills}`);
    assertSameAs(local, reference);
  });
});

describe('a large object cleaned while it downloads gives what one thread gives after the download', () => {
  let s3: S3Server;
  let link: ThrottleProxy;
  let home: string;
  let reference: Snapshot;
  // Parts of 64 KiB, two connections at 4 MB/s each: the download takes a few seconds, so the
  // clean has time to start long before it ends.
  const PARTS = { ...SPLIT, CLEANER_PART_BYTES: String(64 << 10) };
  const s3Args = (local: string) => [...args(`s3://ranged/data/`, local), '--concurrency', '2'];
  const env = (extra: Record<string, string>) => ({ ...s3.env(), AWS_ENDPOINT_URL_S3: link.endpoint, ...extra });

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'cleaner-ranged-s3-'));
    s3 = await startS3();
    await s3.createBucket('ranged');
    await s3.put('ranged', 'data/big.jsonl', hostileFile(6, 12_000));
    link = await startThrottleProxy(s3.endpoint, 4);
    const local = join(home, 'whole');
    const r = await runCli(s3Args(local), { env: { ...s3.env(), ...WHOLE, CLEANER_PART_BYTES: String(2 ** 50) }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    reference = snapshot(local);
    assert.ok(reference.errors.get('big.jsonl')!.length > 0);
  });
  after(async () => {
    await link?.stop();
    await s3?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('cleaning starts before the download ends, and gives the same files, counters and rule figures', async () => {
    const local = join(home, 'alongside');
    const child = spawnCli(s3Args(local), { env: env(PARTS) });
    let stderr = '';
    child.stderr!.on('data', (s) => (stderr += s));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // Output of the object written while its download is still partial: the two overlap.
    let overlapped = false;
    const partialInput = join(local, '.cleaner', 'partial', 'input', 'big.jsonl');
    const partialOutput = join(local, '.cleaner', 'partial', 'output', 'big.jsonl');
    while (!(await Promise.race([exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 5))]))) {
      if (!overlapped && (statSync(partialOutput, { throwIfNoEntry: false })?.size ?? 0) > 0 && statSync(partialInput, { throwIfNoEntry: false })) overlapped = true;
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(overlapped, 'output was written while the object was still downloading');
    assertSameAs(local, reference);
  });

  test('SIGKILLs while it downloads and cleans, each followed by resume, lose and duplicate nothing', async () => {
    const local = join(home, 'kill');
    const partialInput = join(local, '.cleaner', 'partial', 'input', 'big.jsonl');
    const size = reference.output.get('big.jsonl')!.length;
    const rand = mulberry32(Number(process.env.CRASH_SEED ?? 11));
    const kills = await killRounds(s3Args(local), local, env(PARTS), partialInput, () => size * (0.1 + 0.8 * rand()), 5);
    const r = await runCli(['resume', '--state', join(local, 'state.db')], { env: env(PARTS), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(kills >= 2, `expected at least 2 kills mid-download, got ${kills}`);
    assertSameAs(local, reference);
  });
});
