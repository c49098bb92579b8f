/**
 * One large object cleaned in blocks by several threads (src/stages/clean-ranged.ts) gives exactly
 * what one thread gives: the same output and errors files byte for byte (reject records with the
 * same line numbers and offsets), the same counters and rule figures in the state; and a SIGKILL
 * at any point of a split clean, followed by resume, loses and duplicates nothing.
 *
 * Blocks are made small (CLEANER_BLOCK_BYTES) so a few MB give dozens of block boundaries, some
 * inside overlong lines that span several blocks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateEvents, mulberry32 } from '../helpers/events.js';
import { runCli, spawnCli } from '../helpers/cli.js';
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

describe('a large object split over threads gives what one thread gives', () => {
  let src: string;
  let reference: { output: Map<string, Buffer>; errors: Map<string, Buffer>; state: unknown[] };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-ranged-'));
    src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'big.jsonl'), hostileFile(5, 30_000));
    const local = join(dir, 'whole');
    const r = await runCli(args(src, local), { env: WHOLE, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    reference = { output: readTree(join(local, 'output')), errors: readTree(join(local, 'errors')), state: stateOf(local) };
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
    assert.deepEqual(diffTrees(reference.output, readTree(join(local, 'output'))), []);
    assert.deepEqual(diffTrees(reference.errors, readTree(join(local, 'errors'))), []);
    assert.deepEqual(stateOf(local), reference.state);
  });

  test('SIGKILLs at many points of a split clean, each followed by resume, lose and duplicate nothing', async () => {
    const local = join(dir, 'kill');
    const partial = join(local, '.cleaner', 'partial', 'output', 'big.jsonl');
    const total = reference.output.get('big.jsonl')!.length;
    const rand = mulberry32(Number(process.env.CRASH_SEED ?? 7));
    let kills = 0;
    let next = args(src, local);
    for (let round = 0; round < 8; round++) {
      const at = total * (0.1 + 0.8 * rand());
      const child = spawnCli(next, { env: SPLIT });
      let stderr = '';
      child.stderr!.on('data', (s) => (stderr += s));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      let killed = false;
      for (;;) {
        const done = await Promise.race([exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 2))]);
        if (done) break;
        if ((statSync(partial, { throwIfNoEntry: false })?.size ?? 0) >= at) {
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
    const r = await runCli(['resume', '--state', join(local, 'state.db')], { env: SPLIT, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(kills >= 2, `expected at least 2 kills mid-clean, got ${kills}`);
    assert.deepEqual(diffTrees(reference.output, readTree(join(local, 'output'))), []);
    assert.deepEqual(diffTrees(reference.errors, readTree(join(local, 'errors'))), []);
    const [got] = stateOf(local) as Array<Record<string, unknown>>;
    const [want] = reference.state as Array<Record<string, unknown>>;
    assert.deepEqual(got, want);
  });
});
