/**
 * A local source of many small files: cleaned on the main thread and committed a group at a time
 * (small-batch.ts), beside files that take the clean threads (a large one, a .gz one). Every output
 * checked byte for byte, and a SIGKILL in the middle, then resume, gives the same files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEvents, gzip } from '../helpers/events.js';
import { killWhen, runCli, statusJson } from '../helpers/cli.js';
import { expectedFor } from '../helpers/oracle.js';
import { diffTrees, listFiles, plain, readTree } from '../helpers/tree.js';

const SMALL_FILES = 300;
let dir: string;
let src: string;
const inputs = new Map<string, Buffer>(); // relative path -> file bytes

function args(local: string, ...more: string[]): string[] {
  return ['run', '--source', src, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet', ...more];
}

describe('a local source of many small files', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-local-lake-'));
    src = join(dir, 'src');
    for (let i = 0; i < SMALL_FILES; i++) {
      const rel = `day-${String(i % 10).padStart(2, '0')}/part-${String(i).padStart(4, '0')}.jsonl`;
      inputs.set(rel, generateEvents({ seed: 700 + i, lines: 1 + (i % 40), rejectRate: 0.2, blankRate: 0.1 }).data);
    }
    // Past the small path's 256 KB, and compressed: both go to a clean thread.
    inputs.set('large/big.jsonl', generateEvents({ seed: 1, lines: 3_000, rejectRate: 0.05 }).data);
    inputs.set('large/packed.jsonl.gz', gzip(generateEvents({ seed: 2, lines: 50, rejectRate: 0.2 }).data));
    inputs.set('crlf.jsonl', Buffer.from(generateEvents({ seed: 3, lines: 5 }).data.toString('utf8').replace(/\n/g, '\r\n')));
    for (const [rel, body] of inputs) {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), body);
    }
    assert.ok(inputs.get('large/big.jsonl')!.length > 256 << 10, 'the large file is past the small path');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The run in `local` cleaned every file once: its outputs are each file's valid lines, its errors one record per rejected line. */
  async function assertAllCleaned(local: string): Promise<void> {
    const s = await statusJson(join(local, 'state.db'));
    assert.equal(s.totals.objects, inputs.size);
    assert.equal(s.totals.objects_done, inputs.size);
    let valid = 0;
    let rejected = 0;
    let withRejects = 0;
    const outputs = readTree(join(local, 'output'));
    const errors = readTree(join(local, 'errors'));
    assert.equal(outputs.size, inputs.size, 'one output per file, nothing else');
    for (const [rel, body] of inputs) {
      const e = expectedFor(plain(rel, body));
      valid += e.valid;
      rejected += e.rejected;
      if (e.rejected > 0) withRejects++;
      assert.ok(plain(rel, outputs.get(rel)!).equals(e.output), `output of ${rel} is exactly its valid lines`);
      const err = errors.get(rel);
      const records = err ? plain(rel, err).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      assert.equal(records.length, e.rejected, `one reject record per rejected line of ${rel}`);
      for (const r of records) assert.equal(r.source, join(src, rel));
    }
    assert.equal(s.totals.valid, valid);
    assert.equal(s.totals.rejected, rejected);
    assert.equal(errors.size, withRejects, 'an errors file only for a file with rejects');
    assert.deepEqual(listFiles(join(local, '.cleaner', 'partial')), [], 'no partial file left');
    assert.ok(!existsSync(join(local, 'input')), 'nothing copied to input/');
  }

  test('every file is cleaned once, small ones and large ones, and a second run cleans none again', async () => {
    const local = join(dir, 'full');
    let r = await runCli(args(local));
    assert.equal(r.code, 0, r.stderr);
    await assertAllCleaned(local);
    r = await runCli(args(local));
    assert.equal(r.code, 0, r.stderr);
    const s = await statusJson(join(local, 'state.db'));
    assert.equal(s.totals.objects_skipped, inputs.size);
  });

  test('SIGKILLs in the middle, then resume, give the same files as a run without one', async () => {
    const local = join(dir, 'killed');
    const whole = readTree(join(dir, 'full', 'output'));
    // Killed once some small files are published and most are not (files go in key order), then
    // the resume killed further on, in the group commits of later folders.
    const published = (day: string) => (existsSync(join(local, 'output', day)) ? readdirSync(join(local, 'output', day)).length : 0);
    await killWhen(args(local), {}, () => published('day-00') >= 5);
    assert.ok(listFiles(join(local, 'output')).length < inputs.size, 'killed before the end');
    const second = await killWhen(['resume', '--state', join(local, 'state.db'), '--quiet'], {}, () => published('day-05') >= 3, { mayFinish: true });
    if (second === 'killed') {
      const r = await runCli(['resume', '--state', join(local, 'state.db'), '--quiet']);
      assert.equal(r.code, 0, r.stderr);
    }
    await assertAllCleaned(local);
    assert.deepEqual(diffTrees(whole, readTree(join(local, 'output'))), []);
    assert.deepEqual(diffTrees(readTree(join(dir, 'full', 'errors')), readTree(join(local, 'errors'))), []);
  });
});
