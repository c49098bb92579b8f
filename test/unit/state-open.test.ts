/**
 * openState: a read-only open never writes to the state file, yet reads a state older than the
 * code (or killed during its first migration) at the latest schema, as status and report need.
 * Real SQLite files in a temp folder, made read-only on disk where it matters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StateError } from '../../src/errors.js';
import { latestVersion, openState, type Db } from '../../src/state/db.js';
import { getRun, listRuns } from '../../src/state/queries.js';

const FIRST_MIGRATION = readFileSync(new URL('../../migrations/0001_init.sql', import.meta.url), 'utf8');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleaner-state-open-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A state as cleaner 0001 left it: WAL mode, schema version 1, one finished run. */
function stateAtVersion1(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  db.prepare('INSERT INTO migrations VALUES (1, ?, ?)').run('0001_init.sql', '2026-01-01T00:00:00Z');
  db.exec(FIRST_MIGRATION);
  db.prepare(
    `INSERT INTO runs (target, kind, source, local_dir, schema_origin, schema_text, schema_hash, state, started_at)
     VALUES ('t', 'local', '/src', '/local', 'default', '{}', 'h', 'done', '2026-01-01T00:00:00Z')`,
  ).run();
  db.close();
}

/**
 * Everything a write could leave behind: the file's bytes and mtime, frames in its WAL, a rollback
 * journal. (A reader of a WAL database may create an empty -wal and the -shm index beside it: that
 * is SQLite's reader bookkeeping, not a write to the state.)
 */
function footprint(path: string): { sha256: string; mtimeMs: number; walBytes: number; journal: boolean } {
  return {
    sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
    mtimeMs: statSync(path).mtimeMs,
    walBytes: existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0,
    journal: existsSync(`${path}-journal`),
  };
}

/** Opens `path` read-only, hands it to `look`, closes it, and asserts the file was not written. */
function readOnlyLook(path: string, look: (db: Db) => void): void {
  const was = footprint(path);
  const db = openState(path, { readonly: true });
  try {
    look(db);
  } finally {
    db.close();
  }
  assert.deepEqual(footprint(path), was);
}

describe('a read-only open of the state', () => {
  test('reads an older state at the latest schema and leaves its file byte for byte as it was', () => {
    assert.ok(latestVersion() > 1, 'this test needs a migration after 0001');
    const path = join(dir, 'v1.db');
    stateAtVersion1(path);
    readOnlyLook(path, (db) => {
      const run = getRun(db);
      assert.equal(run?.state, 'done');
      // `gate` arrived with 0002: the reader sees the schema the code expects.
      assert.equal(run?.gate, null);
      assert.equal(listRuns(db).length, 1);
      assert.throws(() => db.prepare("UPDATE runs SET state = 'failed'").run(), /readonly/);
    });
  });

  test('reads an older state whose file is read-only on disk', () => {
    const path = join(dir, 'v1-0444.db');
    stateAtVersion1(path);
    chmodSync(path, 0o444);
    readOnlyLook(path, (db) => assert.equal(getRun(db)?.gate, null));
  });

  test('reads a state killed during its first migration as one with no runs, and writes nothing', () => {
    const path = join(dir, 'half.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    raw.close();
    chmodSync(path, 0o444);
    readOnlyLook(path, (db) => assert.equal(getRun(db), undefined));
  });

  test('reads a state whose creating process was SIGKILLed mid-transaction (a hot rollback journal) as one with no runs, and writes nothing', async () => {
    // The way `run` leaves a new state killed while switching it to WAL: a rollback journal that
    // SQLite must play back before the file can be read. A real process, its cache made tiny so
    // the open transaction's pages reach the file, killed with SIGKILL before it commits.
    const path = join(dir, 'hot.db');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]); db.pragma('cache_size = 1'); db.exec('BEGIN; CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)');
         const ins = db.prepare("INSERT INTO migrations VALUES (?, 'x', ?)"); for (let i = 1; i <= 2000; i++) ins.run(i, 'x'.repeat(200));
         process.stdout.write('spilled\\n'); setInterval(() => {}, 1000);`,
        path,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('spilled') && resolve());
      child.on('exit', (code) => reject(new Error(`the writer exited ${code} before it was killed`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(statSync(path).size > 0 && statSync(`${path}-journal`).size > 0, 'the killed writer should leave pages in the file and a journal beside it');
    assert.throws(() => new Database(path, { readonly: true }).prepare('SELECT 1 FROM sqlite_master').get(), /readonly/, 'plain SQLite cannot read it read-only');
    const journal = createHash('sha256').update(readFileSync(`${path}-journal`)).digest('hex');
    readOnlyLook(path, (db) => {
      assert.equal(getRun(db), undefined);
      assert.equal(listRuns(db).length, 0);
    });
    assert.equal(createHash('sha256').update(readFileSync(`${path}-journal`)).digest('hex'), journal);
    // The next writing open plays the journal back itself and migrates.
    const db = openState(path);
    try {
      assert.equal((db.prepare('SELECT MAX(version) AS v FROM migrations').get() as { v: number }).v, latestVersion());
    } finally {
      db.close();
    }
  });

  test('the next writing open migrates the file itself', () => {
    const path = join(dir, 'v1-then-run.db');
    stateAtVersion1(path);
    openState(path, { readonly: true }).close();
    const db = openState(path);
    try {
      const v = db.prepare('SELECT MAX(version) AS v FROM migrations').get() as { v: number };
      assert.equal(v.v, latestVersion());
    } finally {
      db.close();
    }
  });

  test('refuses a state written by a newer cleaner', () => {
    const path = join(dir, 'newer.db');
    openState(path).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO migrations VALUES (?, ?, ?)').run(latestVersion() + 1, '9999_future.sql', '2030-01-01T00:00:00Z');
    raw.close();
    assert.throws(() => openState(path, { readonly: true }), (err) => err instanceof StateError && /newer cleaner/.test(err.message));
  });

  test('refuses an SQLite file that is not a cleaner state, and writes nothing to it', () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE something_else (x)');
    raw.close();
    const was = footprint(path);
    assert.throws(() => openState(path, { readonly: true }), (err) => err instanceof StateError && /not a cleaner state/.test(err.message));
    assert.deepEqual(footprint(path), was);
  });
});
