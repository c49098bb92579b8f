/**
 * A crash at any instant loses nothing and duplicates nothing: the real CLI is SIGKILLed while it
 * downloads and while it cleans, `cleaner resume` finishes the job, and the result is compared
 * byte for byte with an uninterrupted run of the same data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, gzip, mulberry32 } from '../helpers/events.js';
import { killWhen, runCli, statusJson } from '../helpers/cli.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const BUCKET = 'crash-bucket';
let s3: S3Server;
let dir: string;
let reference: { output: Map<string, Buffer>; errors: Map<string, Buffer>; totals: any };

function runArgs(local: string) {
  // Small checkpoints so a kill lands between many of them.
  return ['run', '--source', `s3://${BUCKET}/data/`, '--local-dir', local, '--state', join(local, 'state.db'), '--checkpoint-bytes', '262144', '--concurrency', '4'];
}

/** Bytes in files under `d` (recursively), 0 when absent. */
function bytesUnder(d: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(d);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(d, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    n += st.isDirectory() ? bytesUnder(p) : st.size;
  }
  return n;
}

async function resumeToEnd(local: string, env: Record<string, string>) {
  const r = await runCli(['resume', '--state', join(local, 'state.db')], { env, timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
}

function assertSameAsReference(local: string) {
  assert.deepEqual(diffTrees(reference.output, readTree(join(local, 'output'))), [], 'output/ equals the uninterrupted run');
  assert.deepEqual(diffTrees(reference.errors, readTree(join(local, 'errors'))), [], 'errors/ equals the uninterrupted run');
}

describe('a SIGKILL at any instant loses and duplicates nothing', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-crash-'));
    const entries: Array<[string, Buffer]> = [];
    for (let i = 0; i < 24; i++) {
      const ev = generateEvents({ seed: 100 + i, lines: 1500 + i * 150, rejectRate: 0.05, blankRate: 0.01 });
      entries.push([`data/part-${i}.jsonl${i % 4 === 1 ? '.gz' : ''}`, i % 4 === 1 ? gzip(ev.data) : ev.data]);
    }
    // Two large objects (one gzip) so kills land inside one file's download and clean.
    entries.push(['data/big/large.jsonl', generateEvents({ seed: 7, lines: 60_000 }).data]);
    entries.push(['data/big/large2.jsonl.gz', gzip(generateEvents({ seed: 8, lines: 40_000 }).data)]);
    await s3.putMany(BUCKET, entries, 8);
    const local = join(dir, 'reference');
    const r = await runCli(runArgs(local), { env: s3.env(), timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    reference = { output: readTree(join(local, 'output')), errors: readTree(join(local, 'errors')), totals: (await statusJson(join(local, 'state.db'))).totals };
    assert.equal(reference.output.size, entries.length);
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a SIGKILL in the middle of downloading, then resume, gives the same files', async () => {
    const local = join(dir, 'kill-download');
    const partial = join(local, '.cleaner', 'partial', 'input');
    const how = await killWhen(runArgs(local), s3.env(), () => bytesUnder(partial) > 0, { mayFinish: true });
    assert.equal(how, 'killed');
    await resumeToEnd(local, s3.env());
    assertSameAsReference(local);
    assert.deepEqual((await statusJson(join(local, 'state.db'))).totals, reference.totals);
  });

  test('a SIGKILL in the middle of cleaning, then resume, gives the same files', async () => {
    const local = join(dir, 'kill-clean');
    const partial = join(local, '.cleaner', 'partial', 'output');
    const how = await killWhen(runArgs(local), s3.env(), () => bytesUnder(partial) > 300_000, { mayFinish: true });
    assert.equal(how, 'killed');
    await resumeToEnd(local, s3.env());
    assertSameAsReference(local);
    assert.deepEqual((await statusJson(join(local, 'state.db'))).totals, reference.totals);
  });

  test('repeated SIGKILLs at random instants, each followed by resume, give the same files', async () => {
    const local = join(dir, 'kill-random');
    // 64 KiB ranged parts (8 MiB by default): most objects are fetched as several parts at once,
    // so kills land with parts done beyond the committed prefix.
    const env = { ...s3.env(), CLEANER_PART_BYTES: String(64 << 10) };
    const rand = mulberry32(Number(process.env.CRASH_SEED ?? 42));
    let kills = 0;
    let args = runArgs(local);
    let finished = false;
    for (let round = 0; round < 15; round++) {
      const deadline = Date.now() + 150 + rand() * 900;
      const how = await killWhen(args, env, () => Date.now() >= deadline, { mayFinish: true });
      finished = how === 'finished';
      if (finished) break;
      kills++;
      // A kill before the run was even recorded leaves nothing to resume: a user runs it again.
      const started = existsSync(join(local, 'state.db')) && (await statusJson(join(local, 'state.db'))).run !== null;
      args = started ? ['resume', '--state', join(local, 'state.db'), '--quiet'] : runArgs(local);
    }
    // The last kill, too, may have come before the run was recorded (on a loaded machine the
    // process can take a second to get there): then the user runs it again rather than resuming.
    if (args[0] === 'resume') await resumeToEnd(local, env);
    else if (!finished) {
      const r = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.ok(kills >= 3, `expected at least 3 kills before the job finished, got ${kills}`);
    assertSameAsReference(local);
    assert.deepEqual((await statusJson(join(local, 'state.db'))).totals, reference.totals);
  });
});
