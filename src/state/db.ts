/**
 * Opens the state database: pragmas, migrations, and the one-process-at-a-time lock.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateBusyError, StateError } from '../errors.js';

export type Db = Database.Database;

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

interface Migration {
  version: number;
  name: string;
  sql: string;
}

function loadMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f, sql: readFileSync(join(MIGRATIONS_DIR, f), 'utf8') }));
}

/** The newest schema version this code knows. */
export function latestVersion(): number {
  const all = loadMigrations();
  return all.length ? all[all.length - 1].version : 0;
}

/**
 * Opens (creating if needed) the state database at `path`, migrated to the latest version.
 * Refuses a database written by a newer cleaner, or a file that is not a cleaner database.
 *
 * `readonly` never writes to `path`, not even to migrate: a state older than this code (or killed
 * during its first migration) is read into memory and migrated there, so `status`, `report` and
 * `run --dry-run` can read it like any other; the next `run` or `resume` migrates the file itself.
 */
export function openState(path: string, opts: { migrate?: boolean; readonly?: boolean } = {}): Db {
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new StateError(`cannot open state ${path}: ${(err as Error).message}`);
  }
  try {
    if (opts.readonly && hasHotJournal(db)) {
      db.close();
      return rolledBackCopy(path);
    }
    // WAL: `status` reads while a run writes, and clean workers commit checkpoints from their own
    // connections without blocking readers. synchronous=FULL: a checkpoint or a 'publishing' mark
    // must survive power loss once committed, because files are truncated or renamed on its word;
    // the cost is one fsync per commit, and commits happen every few MB, not per line.
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 30000');
    db.pragma('foreign_keys = ON');
    if (opts.readonly && currentVersion(db) < latestVersion()) {
      const copy = migratedCopy(db, path);
      db.close();
      return copy;
    }
    if (opts.migrate !== false && !opts.readonly) migrate(db, path);
    else checkVersion(db, path);
  } catch (err) {
    db.close();
    throw asStateError(err, path);
  }
  return db;
}

/**
 * The state at `path` opened read-only as it is (not migrated, not copied), or undefined when there
 * is none or it cannot be read that way: for a look before a run that may do without it
 * (plan.ts's rules already checked). The caller closes it.
 */
export function peekState(path: string): Db | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    return db;
  } catch {
    return undefined;
  }
}

/** An SQLite error that says the file is not a database becomes a StateError naming the path. */
function asStateError(err: unknown, path: string): unknown {
  if (err instanceof StateError) return err;
  const msg = (err as Error).message;
  if (/file is not a database|malformed/.test(msg)) return new StateError(`state ${path} is not a cleaner state database (${msg})`);
  return err;
}

/**
 * An in-memory copy of the read-only `db`, migrated to the latest version and then made read-only
 * (query_only). The copy costs the state's size in memory, once per command, and only for a state
 * no writing command has opened since cleaner was upgraded.
 */
function migratedCopy(db: Db, path: string): Db {
  const bytes = db.serialize();
  // Header bytes 18-19 say WAL (2); an in-memory database cannot open in WAL mode, so mark the
  // copy as a rollback-journal database (1). serialize() already includes the WAL's committed pages.
  if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
  const copy = bytes.length > 0 ? new Database(bytes) : new Database(':memory:');
  try {
    copy.pragma('foreign_keys = ON');
    migrate(copy, path);
    copy.pragma('query_only = ON');
  } catch (err) {
    copy.close();
    throw err;
  }
  return copy;
}

/**
 * Whether SQLite refuses to read `db` until a hot rollback journal beside it is played back, which
 * a read-only connection may not do. It happens when the process creating the state was killed
 * before the file was in WAL mode (switching a new file to WAL goes through a rollback journal).
 */
function hasHotJournal(db: Db): boolean {
  try {
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_READONLY_ROLLBACK') return true;
    throw err;
  }
}

/**
 * The state at `path` as its hot journal leaves it once played back, read in memory: the file and
 * its journal are copied to a temp folder, SQLite plays the journal back on the copy, and the
 * result goes the way of an older state (migratedCopy). `path` itself is not written; the next
 * `run` or `resume` plays the journal back there. If the journal is gone by the time it is copied,
 * its writer has committed or rolled back meanwhile, and the file is opened again as it now is.
 */
function rolledBackCopy(path: string): Db {
  const tmp = mkdtempSync(join(tmpdir(), 'cleaner-state-'));
  try {
    const copy = join(tmp, 'state.db');
    copyFileSync(path, copy);
    try {
      copyFileSync(`${path}-journal`, `${copy}-journal`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(`${path}-journal`)) return openState(path, { readonly: true });
      throw err;
    }
    const rolled = new Database(copy);
    try {
      return migratedCopy(rolled, path);
    } finally {
      rolled.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function currentVersion(db: Db): number {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").get();
  if (!hasTable) return -1;
  const row = db.prepare('SELECT MAX(version) AS v FROM migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Refuses a database newer than this code, and (unless migrating) one older than it. */
function checkVersion(db: Db, path: string, opts: { olderIsFine?: boolean } = {}): void {
  const v = currentVersion(db);
  const known = latestVersion();
  if (v > known) {
    throw new StateError(
      `state ${path} was written by a newer cleaner (schema version ${v}; this cleaner knows up to ${known}): upgrade cleaner or use another --state`,
    );
  }
  if (!opts.olderIsFine && v < known && v !== -1) {
    throw new StateError(`state ${path} is at schema version ${v}, expected ${known}: run any cleaner command once to migrate it`);
  }
}

/** Applies every migration newer than the database, each in its own transaction with its bookkeeping row. */
export function migrate(db: Db, path: string): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
  if (tables.length > 0 && !tables.some((t) => t.name === 'migrations')) {
    throw new StateError(`state ${path} is an SQLite database but not a cleaner state (no migrations table): use another --state`);
  }
  db.exec('CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  checkVersion(db, path, { olderIsFine: true });
  for (const m of loadMigrations()) {
    // IMMEDIATE: two processes migrating at once serialise here, and the second sees the row.
    const apply = db.transaction(() => {
      const done = db.prepare('SELECT 1 FROM migrations WHERE version = ?').get(m.version);
      if (done) return;
      db.prepare('INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      db.exec(m.sql);
    });
    apply.immediate();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the state's lock for this process, or throws StateBusyError naming the live holder.
 * A holder that is no longer alive (killed, crashed) is taken over: that is what `resume` is for.
 */
export function acquireLock(db: Db, path: string, command: string): void {
  const take = db.transaction(() => {
    const row = db.prepare('SELECT pid, host, command, since FROM lock WHERE id = 1').get() as
      | { pid: number; host: string; command: string; since: string }
      | undefined;
    if (row && row.pid !== process.pid) {
      const sameHost = row.host === hostname();
      if (!sameHost || pidAlive(row.pid)) {
        throw new StateBusyError(
          `state ${path} is in use by cleaner pid ${row.pid} on ${row.host} (${row.command}, since ${row.since}); wait for it to finish or use another --state`,
        );
      }
    }
    db.prepare('INSERT OR REPLACE INTO lock (id, pid, host, command, since) VALUES (1, ?, ?, ?, ?)').run(
      process.pid,
      hostname(),
      command,
      new Date().toISOString(),
    );
  });
  take.immediate();
}

/** Releases the lock if this process holds it. */
export function releaseLock(db: Db): void {
  db.prepare('DELETE FROM lock WHERE id = 1 AND pid = ?').run(process.pid);
}
