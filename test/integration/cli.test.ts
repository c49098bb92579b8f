/**
 * The CLI as a user meets it: clear one-line errors with distinct exit codes, refusals before any
 * work starts, one process per state, and local sources with no download stage.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, spawnCli, statusJson } from '../helpers/cli.js';
import { generateEvents } from '../helpers/events.js';
import { expectedFor } from '../helpers/oracle.js';
import { defaultSchema } from '../../src/validate/default-schema.js';

let dir: string;

function noStack(stderr: string) {
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

describe('the cleaner command line', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help works and lists the commands', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['run', 'resume', 'status']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
    const run = await runCli(['run', '--help']);
    assert.match(run.stdout, /--remote_dir/);
    assert.match(run.stdout, /CLEANER_STATE/);
  });

  test('a missing source is a usage error with a hint, exit 2', async () => {
    const r = await runCli(['run', '--state', join(dir, 'nosrc.db')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no source: pass --source/);
    noStack(r.stderr);
    assert.ok(!existsSync(join(dir, 'nosrc.db')), 'nothing was started');
  });

  test('an unknown flag is a usage error, exit 2', async () => {
    const r = await runCli(['run', '--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--frobnicate'/);
  });

  test('bad numbers are all reported together', async () => {
    const r = await runCli(['run', '--source', dir, '--concurrency', 'lots', '--threads', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--concurrency: must be a positive whole number/);
    assert.match(r.stderr, /--threads: must be a positive whole number/);
  });

  for (const [name, content, problem] of [
    ['missing.json', null, /file not found/],
    ['not-json.json', '{"type": "object",', /not valid JSON/],
    ['invalid.json', '{"type": "objekt"}', /not a valid JSON Schema/],
    ['bad-ref.json', '{"properties": {"a": {"$ref": "#/definitions/nowhere"}}}', /unresolvable \$ref/],
    // Over 64 KB the clean threads start compiling the rules while they are checked (warm-pool.ts).
    ['invalid-large.json', JSON.stringify({ type: 'objekt', description: 'x'.repeat(70_000) }), /not a valid JSON Schema/],
    ['bad-ref-large.json', JSON.stringify({ description: 'x'.repeat(70_000), properties: { a: { $ref: '#/definitions/nowhere' } } }), /unresolvable \$ref/],
  ] as const) {
    test(`a rules file that is ${name.replace('.json', '')} is refused before any work, naming the file`, async () => {
      const schema = join(dir, name);
      if (content !== null) writeFileSync(schema, content);
      const state = join(dir, `schema-${name}.db`);
      const r = await runCli(['run', '--source', dir, '--local-dir', join(dir, 'w'), '--state', state, '--schema', schema, '--threads', '2']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`schema ${schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      assert.match(r.stderr, problem);
      noStack(r.stderr);
      assert.ok(!existsSync(state), 'no state was created');
    });
  }

  test('a schema with unknown keywords and formats loads with a warning', async () => {
    const src = join(dir, 'src-warn');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.jsonl'), '{"id":"x","when":"soon"}\n{"id":5}\n');
    const schema = join(dir, 'real-world.json');
    writeFileSync(schema, JSON.stringify({ type: 'object', 'x-owner': 'data-team', properties: { id: { type: 'string' }, when: { format: 'fuzzy-time' } } }));
    const local = join(dir, 'w-warn');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', join(dir, 'warn.db'), '--schema', schema]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warn: .*fuzzy-time/);
    assert.equal(readFileSync(join(local, 'output', 'a.jsonl'), 'utf8'), '{"id":"x","when":"soon"}\n');
  });

  test('rules a run of this state checked are not compiled again by the next run of the same text; other text, or another cleaner, is checked', async () => {
    const src = join(dir, 'src-checked');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.jsonl'), '{"id":"x","when":"soon"}\n{"id":5}\n');
    const schema = join(dir, 'checked-rules.json');
    const rules = { type: 'object', 'x-owner': 'data-team', properties: { id: { type: 'string' }, when: { format: 'fuzzy-time' } } };
    writeFileSync(schema, JSON.stringify(rules));
    const local = join(dir, 'w-checked');
    const state = join(dir, 'checked.db');
    const run = () => runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--schema', schema, '-v']);
    const SKIPPED = /checked by an earlier run of this state/;

    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /warn: .*fuzzy-time/);
    assert.doesNotMatch(first.stderr, SKIPPED);

    // The next run of the same rules takes the check from the state, warnings and all.
    writeFileSync(join(src, 'b.jsonl'), '{"id":"y"}\n{"id":[]}\n');
    const second = await run();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /warn: .*fuzzy-time/);
    assert.match(second.stderr, SKIPPED);
    assert.equal(readFileSync(join(local, 'output', 'b.jsonl'), 'utf8'), '{"id":"y"}\n');
    assert.match(readFileSync(join(local, 'errors', 'b.jsonl'), 'utf8'), /"path":"\/id","keyword":"type"/);

    // A check by another cleaner (or another ajv) does not count.
    const db = new Database(state);
    db.prepare("UPDATE checked_rules SET checker = 'cleaner 0.0.1; ajv 8.0.0; ajv-formats 3.0.0; ajv-draft-04 1.0.0'").run();
    db.close();
    const third = await run();
    assert.equal(third.code, 0, third.stderr);
    assert.doesNotMatch(third.stderr, SKIPPED);

    // Other text is checked, and bad rules are refused before any work, whatever the state holds.
    writeFileSync(schema, JSON.stringify({ ...rules, 'x-owner': 'platform' }));
    const fourth = await run();
    assert.equal(fourth.code, 0, fourth.stderr);
    assert.doesNotMatch(fourth.stderr, SKIPPED);
    writeFileSync(schema, JSON.stringify({ ...rules, properties: { id: { type: 'string', pattern: '([' } } }));
    const bad = await run();
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /checked-rules\.json/);
    noStack(bad.stderr);
  });

  test('rules over 64 KB, compiled by the threads while they are checked and explained on the main thread, clean as any rules do', async () => {
    const src = join(dir, 'src-large-rules');
    mkdirSync(src, { recursive: true });
    const a = generateEvents({ seed: 7, lines: 400, rejectRate: 0.1, blankRate: 0.05 }).data;
    const b = generateEvents({ seed: 8, lines: 300, rejectRate: 0.1 }).data;
    writeFileSync(join(src, 'a.jsonl'), a);
    writeFileSync(join(src, 'b.jsonl'), b);
    const schema = join(dir, 'large-rules.json');
    writeFileSync(schema, JSON.stringify({ ...defaultSchema, description: 'x'.repeat(70_000) }));
    const local = join(dir, 'w-large-rules');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', join(dir, 'large-rules.db'), '--schema', schema, '--threads', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(join(local, 'output', 'a.jsonl')), expectedFor(a).output);
    assert.deepEqual(readFileSync(join(local, 'output', 'b.jsonl')), expectedFor(b).output);
    // Each thread's rejects were explained on the main thread (stages/explain-desk.ts): the records
    // are those one thread writes explaining its own, in the same order.
    const alone = join(dir, 'w-large-rules-1');
    const r1 = await runCli(['run', '--source', src, '--local-dir', alone, '--state', join(dir, 'large-rules-1.db'), '--schema', schema, '--threads', '1']);
    assert.equal(r1.code, 0, r1.stderr);
    for (const f of ['a.jsonl', 'b.jsonl']) {
      const records = readFileSync(join(local, 'errors', f), 'utf8');
      assert.equal(records, readFileSync(join(alone, 'errors', f), 'utf8'));
      assert.ok(records.split('\n').filter((l) => l.includes('"reason":"schema"')).length >= 10, records.slice(0, 300));
    }
  });

  test('a local directory source is cleaned in place, with no download stage', async () => {
    const src = join(dir, 'src-local');
    mkdirSync(join(src, 'nested'), { recursive: true });
    const a = generateEvents({ seed: 5, lines: 500, rejectRate: 0.1, blankRate: 0.05 }).data;
    const b = generateEvents({ seed: 6, lines: 300 }).data;
    writeFileSync(join(src, 'a.jsonl'), a);
    writeFileSync(join(src, 'nested', 'b.jsonl'), b);
    const local = join(dir, 'w-local');
    const state = join(dir, 'local.db');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(local, 'input')), 'nothing was copied to input/');
    assert.deepEqual(readFileSync(join(local, 'output', 'a.jsonl')), expectedFor(a).output);
    assert.deepEqual(readFileSync(join(local, 'output', 'nested', 'b.jsonl')), expectedFor(b).output);
    const s = await statusJson(state);
    assert.equal(s.totals.lines, 800);
    assert.equal(s.totals.valid, expectedFor(a).valid + expectedFor(b).valid);
  });

  test('a second process on the same state refuses at once, naming the holder; resume takes over from a killed one', async () => {
    const src = join(dir, 'src-lock');
    mkdirSync(src, { recursive: true });
    // Big enough that the first process is still cleaning when the second starts.
    writeFileSync(join(src, 'big.jsonl'), generateEvents({ seed: 9, lines: 150_000 }).data);
    const local = join(dir, 'w-lock');
    const state = join(dir, 'lock.db');
    const first = spawnCli(['run', '--source', src, '--local-dir', local, '--state', state, '--threads', '1', '--checkpoint-bytes', '100000']);
    const exited = new Promise<void>((r) => first.on('exit', () => r()));
    // Wait until the first process is cleaning (a checkpoint has been committed).
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'first run never started cleaning');
      if (existsSync(state)) {
        const db = new Database(state, { readonly: true, fileMustExist: true });
        try {
          const row = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'objects'").get() && (db.prepare('SELECT MAX(clean_offset) AS o FROM objects').get() as { o: number | null });
          if (row && (row.o ?? 0) > 0) break;
        } catch {
          // not migrated yet
        } finally {
          db.close();
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await runCli(['run', '--source', src, '--local-dir', local, '--state', state]);
    assert.equal(second.code, 6, second.stderr);
    assert.match(second.stderr, new RegExp(`in use by cleaner pid ${first.pid}`));
    noStack(second.stderr);
    first.kill('SIGKILL');
    await exited;
    const resumed = await runCli(['resume', '--state', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const s = await statusJson(state);
    assert.equal(s.totals.lines, 150_000);
    assert.deepEqual(readFileSync(join(local, 'output', 'big.jsonl')), expectedFor(readFileSync(join(src, 'big.jsonl'))).output);
  });

  test('SIGTERM stops a run with exit 130, records it as interrupted, and resume finishes it', async () => {
    const src = join(dir, 'src-term');
    mkdirSync(src, { recursive: true });
    const data = generateEvents({ seed: 19, lines: 120_000 }).data;
    writeFileSync(join(src, 'big.jsonl'), data);
    const local = join(dir, 'w-term');
    const state = join(dir, 'term.db');
    const child = spawnCli(['run', '--source', src, '--local-dir', local, '--state', state, '--threads', '1', '--checkpoint-bytes', '100000']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const partial = join(local, '.cleaner', 'partial', 'output', 'big.jsonl');
    const { statSync } = await import('node:fs');
    for (let i = 0; i < 3000 && !(existsSync(partial) && statSync(partial).size > 0); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGTERM');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted by SIGTERM; continue with cleaner resume/);
    assert.equal((await statusJson(state)).run.state, 'interrupted');
    const resumed = await runCli(['resume', '--state', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(readFileSync(join(local, 'output', 'big.jsonl')), expectedFor(data).output);
  });

  test('a state written by a newer cleaner is refused with a message', async () => {
    const state = join(dir, 'newer.db');
    const src = join(dir, 'src-local');
    let r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'w-newer'), '--state', state]);
    assert.equal(r.code, 0, r.stderr);
    const db = new Database(state);
    db.prepare("INSERT INTO migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 'later')").run();
    db.close();
    r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'w-newer'), '--state', state]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /written by a newer cleaner \(schema version 9999/);
    r = await runCli(['status', '--state', state]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /newer cleaner/);
  });

  test('a file that is not a state database is refused with a message', async () => {
    const state = join(dir, 'notdb.db');
    writeFileSync(state, 'hello, I am a text file and not SQLite at all'.repeat(100));
    const r = await runCli(['run', '--source', join(dir, 'src-local'), '--local-dir', join(dir, 'w-x'), '--state', state]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a cleaner state database/);
    noStack(r.stderr);
  });

  test('status on a state killed during its first migration says no runs yet', async () => {
    const state = join(dir, 'half-migrated.db');
    const db = new Database(state);
    db.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    db.close();
    const s = await runCli(['status', '--state', state]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /no runs yet/);
  });

  test('status and resume with no state say so', async () => {
    const state = join(dir, 'never.db');
    const s = await runCli(['status', '--state', state]);
    assert.equal(s.code, 0);
    assert.match(s.stdout, /no runs yet/);
    const r = await runCli(['resume', '--state', state]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nothing to resume/);
  });
});
