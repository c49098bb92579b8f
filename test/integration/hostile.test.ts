/**
 * Hostile and broken input through the real pipeline: keys chosen by whoever writes to the bucket,
 * corrupt gzip, huge lines; every line accounted for, nothing written outside the local dir, and
 * the credentials never written anywhere.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { startS3, type S3Server } from '../helpers/s3.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { runCli, statusJson } from '../helpers/cli.js';
import { expectedFor } from '../helpers/oracle.js';
import { plain, readTree } from '../helpers/tree.js';

const BUCKET = 'hostile-bucket';
const GOOD = '{"event_id":"0b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"click","timestamp":"2026-11-05T10:00:00Z"}\n';

/** Keys relative to the prefix `in/`. */
const HOSTILE = [
  'with space.jsonl',
  'unicodé/日本語/ファイル.jsonl',
  'emoji-🎉.jsonl',
  'percent%20encoded.jsonl',
  'percent%.jsonl',
  '%2E%2E/looks-like-dotdot.jsonl',
  '../escape.jsonl',
  '../../etc/passwd.jsonl',
  'a/../b.jsonl',
  'a/./c.jsonl',
  'a/.../d.jsonl',
  '...',
  '%',
  '~',
  'x/%/y',
  'back\\slash.jsonl',
  '..\\..\\windows.jsonl',
  'tilde~name.jsonl',
  'question?and#hash.jsonl',
  'plus+and=equals&amp.jsonl',
  'quote"and\'apos.jsonl',
  'colon:semi;comma,.jsonl',
  'ctrl\u0001char.jsonl',
  'new\nline.jsonl',
  ' spaces / around /f.jsonl',
  'trailing-slash-with-bytes/',
  'CaseSensitive.jsonl',
  'casesensitive.jsonl',
  '.hidden.jsonl',
  '.cleaner/partial/output/sneaky.jsonl',
  'long-' + 'é'.repeat(100) + '.jsonl.gz',
  // s3rver cannot store these (it keeps keys as file names): a leading "/", "//", components over
  // ~235 bytes. The key-to-path unit tests cover them; here they are tried and skipped if refused.
  '/leading-slash.jsonl',
  'double//slash.jsonl',
];

let s3: S3Server;
let dir: string;

describe('hostile keys and broken objects', () => {
  before(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    dir = mkdtempSync(join(tmpdir(), 'cleaner-hostile-'));
  });
  after(async () => {
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('at least 20 hostile keys map one-to-one to files inside the local dir', async () => {
    const stored: string[] = [];
    for (const [i, k] of HOSTILE.entries()) {
      const body = Buffer.from(GOOD.replace('click', `click-${i}`));
      try {
        await s3.put(BUCKET, `in/${k}`, k.endsWith('.gz') ? gzip(body) : body);
        stored.push(k);
      } catch {
        // s3rver keeps objects as files and cannot store every key a real S3 can; those are skipped.
      }
    }
    assert.ok(stored.length >= 25, `the test server stored only ${stored.length} hostile keys`);
    const local = join(dir, 'work');
    const r = await runCli(['run', '--source', `s3://${BUCKET}/in/`, '--local-dir', local, '--state', join(dir, 'state.db')], { env: s3.env() });
    assert.equal(r.code, 0, r.stderr);
    const s = await statusJson(join(dir, 'state.db'));
    assert.equal(s.totals.objects_done, s.totals.objects);
    assert.equal(s.totals.valid, s.totals.objects, 'every object contributed its one valid line');

    // Everything written is under the local dir, and each object has its own output file.
    const outputs = readTree(join(local, 'output'));
    assert.equal(outputs.size, s.totals.objects, 'one distinct output file per object');
    const seen = new Set<string>();
    for (const [name, bytes] of outputs) {
      const line = plain(name, bytes).toString();
      assert.match(line, /"click-\d+"/);
      assert.ok(!seen.has(line), `two keys share the output file ${name}`);
      seen.add(line);
      for (const seg of name.split('/')) {
        assert.ok(seg !== '' && seg !== '.' && seg !== '..' && Buffer.byteLength(seg) <= 255, `unsafe segment in ${name}`);
      }
    }
    const root = resolve(dir);
    for (const entry of readdirSync(root)) assert.ok(['work', 'state.db', 'state.db-wal', 'state.db-shm'].includes(entry), `unexpected ${entry} beside the local dir`);
    assert.ok(!existsSync(resolve(local, '..', 'escape.jsonl')));
  });

  test('a corrupt, truncated or fake .gz object fails with a reason; the others go on; retries stop after 3 attempts', async () => {
    // Its own bucket: s3rver keeps keys as file names, and the hostile keys above disturb its listings.
    await s3.createBucket('gz-bucket');
    const good = generateEvents({ seed: 3, lines: 2000 }).data;
    const gz = gzip(good);
    await s3.put('gz-bucket', 'gz/ok.jsonl.gz', gz);
    await s3.put('gz-bucket', 'gz/truncated.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 200, 400);
    await s3.put('gz-bucket', 'gz/corrupt.jsonl.gz', corrupt);
    await s3.put('gz-bucket', 'gz/not-gzip.jsonl.gz', good.subarray(0, 5000));
    await s3.put('gz-bucket', 'gz/plain.jsonl', GOOD);
    const local = join(dir, 'gz-work');
    const state = join(dir, 'gz.db');
    const args = ['run', '--source', 's3://gz-bucket/gz/', '--local-dir', local, '--state', state];
    const r = await runCli(args, { env: s3.env() });
    assert.equal(r.code, 4, r.stderr);
    const s = await statusJson(state);
    assert.equal(s.totals.objects_failed, 3);
    assert.equal(s.totals.objects_done, 2);
    const failed = new Map(s.failed_objects.map((f: any) => [f.key, f.error]));
    assert.match(failed.get('gz/truncated.jsonl.gz'), /corrupt gzip/);
    assert.match(failed.get('gz/corrupt.jsonl.gz'), /corrupt gzip/);
    assert.match(failed.get('gz/not-gzip.jsonl.gz'), /corrupt gzip/);
    // A failed object never reaches output/, so a loader cannot take half of it.
    assert.deepEqual([...readTree(join(local, 'output')).keys()].sort(), ['ok.jsonl.gz', 'plain.jsonl']);
    assert.deepEqual(plain('x.gz', readFileSync(join(local, 'output', 'ok.jsonl.gz'))), expectedFor(good).output);
    // Two more runs retry the failures; after that they are left alone.
    for (let i = 0; i < 2; i++) {
      const again = await runCli(args, { env: s3.env() });
      assert.equal(again.code, 4, again.stderr);
    }
    const last = await runCli(args, { env: s3.env() });
    assert.equal(last.code, 4);
    const s4 = await statusJson(state);
    assert.equal(s4.totals.lines, 0, 'the fourth run cleaned nothing again');
    assert.equal(s4.totals.objects_failed, 3);
  });

  test('a 100 MB line is rejected as line_too_long without holding it in memory; the lines around it are kept', async () => {
    const src = join(dir, 'long-src');
    mkdirSync(src, { recursive: true });
    const file = join(src, 'long.jsonl');
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(file, 'w');
    writeSync(fd, GOOD);
    writeSync(fd, '{"event_id":"');
    const block = Buffer.alloc(1 << 20, 'a');
    for (let i = 0; i < 100; i++) writeSync(fd, block);
    writeSync(fd, '"}\n');
    writeSync(fd, GOOD.replace('click', 'after'));
    closeSync(fd);
    const local = join(dir, 'long-work');
    const state = join(dir, 'long.db');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--threads', '1', '--log-format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const s = await statusJson(state);
    assert.deepEqual({ lines: s.totals.lines, valid: s.totals.valid, rejected: s.totals.rejected }, { lines: 3, valid: 2, rejected: 1 });
    const rec = JSON.parse(readFileSync(join(local, 'errors', 'long.jsonl'), 'utf8'));
    assert.equal(rec.reason, 'line_too_long');
    assert.equal(rec.length, 13 + 100 * (1 << 20) + 2);
    assert.equal(rec.truncated, true);
    assert.ok(rec.raw.length <= 4096 && rec.raw.startsWith('{"event_id":"aaaa'));
    assert.equal(rec.line, 2);
    assert.equal(rec.offset, Buffer.byteLength(GOOD));
    assert.equal(readFileSync(join(local, 'output', 'long.jsonl'), 'utf8'), GOOD + GOOD.replace('click', 'after'));
  });

  test('the secret key never appears in anything the run wrote', async () => {
    await s3.createBucket('secret-bucket');
    const local = join(dir, 'secret-work');
    const state = join(dir, 'secret.db');
    await s3.put('secret-bucket', 'sec/a.jsonl', GOOD + 'broken\n');
    // s3rver checks the key id but not the signature, so a distinctive secret still works with it.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETdonotprint';
    const env = { ...s3.env(), AWS_SECRET_ACCESS_KEY: secret };
    const outputs: string[] = [];
    // A refused key id: the error names the problem, and must not echo the secret.
    const bad = await runCli(['run', '--source', 's3://secret-bucket/sec/', '--local-dir', local, '--state', state, '--log-format', 'json', '-v'], {
      env: { ...env, AWS_ACCESS_KEY_ID: 'AKIAWRONGKEYID' },
    });
    assert.equal(bad.code, 3, bad.stderr);
    outputs.push(bad.stdout, bad.stderr);
    const ok = await runCli(['run', '--source', 's3://secret-bucket/sec/', '--local-dir', local, '--state', state, '-v'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    outputs.push(ok.stdout, ok.stderr, (await runCli(['status', '--json', '--state', state])).stdout);
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else outputs.push(readFileSync(p).toString('latin1'));
      }
    };
    walk(local);
    walk(dirname(state));
    assert.ok(outputs.length > 8);
    for (const text of outputs) assert.ok(!text.includes(secret) && !text.includes('SECRETdonotprint'), 'the secret was written somewhere');
  });

  test('outputs and state do not widen what the umask allows', async () => {
    const src = join(dir, 'perm-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.jsonl'), GOOD + 'nope\n');
    const local = join(dir, 'perm-work');
    const state = join(dir, 'perm', 'state.db');
    const { spawnSync } = await import('node:child_process');
    const { CLI, cliEnv } = await import('../helpers/cli.js');
    const r = spawnSync('sh', ['-c', `umask 077 && exec "${process.execPath}" "${CLI}" run --source "${src}" --local-dir "${local}" --state "${state}"`], { env: cliEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const files = [state, join(local, 'output', 'a.jsonl'), join(local, 'errors', 'a.jsonl')];
    for (const f of files) assert.equal(statSync(f).mode & 0o077, 0, `${relative(dir, f)} is readable by others: ${(statSync(f).mode & 0o777).toString(8)}`);
    for (const d of [join(local, 'output'), join(dir, 'perm')]) assert.equal(statSync(d).mode & 0o077, 0, `${d} is open to others`);
    void sep;
  });
});

describe('keys that cannot both exist on a file system', () => {
  test('keys "a" and "a/b" side by side: one is cleaned, the other fails with a reason, the run goes on', async () => {
    const s3 = await startS3();
    const dir = mkdtempSync(join(tmpdir(), 'cleaner-clash-'));
    try {
      await s3.createBucket('clash-bucket');
      await s3.put('clash-bucket', 'p/a', GOOD);
      await s3.put('clash-bucket', 'p/a/b', GOOD.replace('click', 'inner'));
      await s3.put('clash-bucket', 'p/other.jsonl', GOOD);
      const state = join(dir, 's.db');
      const r = await runCli(['run', '--source', 's3://clash-bucket/p/', '--local-dir', join(dir, 'w'), '--state', state], { env: s3.env() });
      assert.equal(r.code, 4, r.stderr);
      const s = await statusJson(state);
      assert.equal(s.totals.objects_done, 2);
      assert.equal(s.totals.objects_failed, 1);
      assert.match(s.failed_objects[0].error, /clashes with another key/);
      assert.equal(readFileSync(join(dir, 'w', 'output', 'other.jsonl'), 'utf8'), GOOD);
    } finally {
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
