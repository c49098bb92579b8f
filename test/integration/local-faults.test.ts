/**
 * Local faults: a full disk or a read-only file system while writing gives one clear line, a
 * consistent state, and `resume` finishes the job once the cause is fixed. Uses a small tmpfs
 * mount (needs root); skipped with a message where mounting is not allowed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, statusJson } from '../helpers/cli.js';
import { generateEvents } from '../helpers/events.js';
import { expectedFor } from '../helpers/oracle.js';

let dir: string;
let mnt: string;
let mounted = false;

function sh(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

describe('local faults while writing', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-local-faults-'));
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const r = sh('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    mounted = r.status === 0;
  });
  after(() => {
    if (mounted) sh('umount', ['-l', mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a full disk stops the run with a clear message; resume finishes once there is room', async (t) => {
    if (!mounted) return t.skip('cannot mount a tmpfs here (needs root): disk-full behaviour not tested');
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    const files = [0, 1, 2].map((i) => generateEvents({ seed: 70 + i, lines: 4000 }).data); // ~2 MB each
    files.forEach((d, i) => writeFileSync(join(src, `f${i}.jsonl`), d));
    const local = join(mnt, 'work');
    const state = join(dir, 'state.db');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--checkpoint-bytes', '200000']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot write under .*: the disk is full \(ENOSPC/);
    assert.match(r.stderr, /cleaner resume/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const s = await statusJson(state);
    assert.equal(s.run.state, 'interrupted');
    // Fix the cause, then resume.
    assert.equal(sh('mount', ['-o', 'remount,size=64m', mnt]).status, 0);
    const resumed = await runCli(['resume', '--state', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    files.forEach((d, i) => assert.deepEqual(readFileSync(join(local, 'output', `f${i}.jsonl`)), expectedFor(d).output, `f${i}.jsonl`));
    const done = await statusJson(state);
    assert.equal(done.totals.lines, 12_000);
    assert.equal(done.totals.objects_done, 3);
  });

  test('a read-only local dir: one clear line, nothing half-done, resume once writable', async (t) => {
    if (!mounted) return t.skip('cannot mount a tmpfs here (needs root): read-only behaviour not tested');
    const src = join(dir, 'src-ro');
    mkdirSync(src, { recursive: true });
    const files = [0, 1].map((i) => generateEvents({ seed: 90 + i, lines: 3000 }).data);
    files.forEach((d, i) => writeFileSync(join(src, `g${i}.jsonl`), d));
    const local = join(mnt, 'work-ro');
    const state = join(dir, 'state-ro.db');
    // (A file system cannot be remounted read-only while cleaner holds files open for writing, so
    // the mount is read-only from the start; a full disk mid-run is covered above.)
    assert.equal(sh('mount', ['-o', 'remount,ro', mnt]).status, 0);
    let r;
    try {
      r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state]);
    } finally {
      assert.equal(sh('mount', ['-o', 'remount,rw', mnt]).status, 0);
    }
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot write under .*: the file system is read-only \(EROFS/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const resumed = await runCli(['resume', '--state', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    files.forEach((d, i) => assert.deepEqual(readFileSync(join(local, 'output', `g${i}.jsonl`)), expectedFor(d).output, `g${i}.jsonl`));
  });
});
