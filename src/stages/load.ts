/**
 * The load stage: after publish, every published object of the run's target goes into the
 * database exactly once. The database's ledger (cleaner_loads) decides what is already there, so
 * a crash, a lost connection or a lost local state at worst loads an object again, replacing its
 * rows. Lines the database refuses are written as reject records (reason load_refused) to
 * load-refused/<path> under the local dir; the rest of the object still loads.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../errors.js';
import type { Db } from '../state/db.js';
import { keysetPages, publishedObjects, setLoadRefused, type ObjectRow, type RunRow } from '../state/queries.js';
import { objectPaths, objectSource } from '../keys/local-layout.js';
import type { Logger } from '../log.js';
import { columnsOf } from '../load/columns.js';
import { parseLoadUrl, type LoadUrl } from '../load/url.js';
import { refusalRecord } from '../load/table-name.js';
import type { LoadTarget, ObjectLoad, ObjectToLoad } from '../load/target.js';

/** Where and how to load: the URL may hold a password (never stored or shown). */
export interface LoadSettings {
  url: string;
  table: string;
  loadRejects: boolean;
}

/** What a load did, for the log and the tests. */
export interface LoadFigures {
  objects: number;
  loaded: number;
  skipped: number;
  rows: number;
  refused: number;
  ms: number;
}

/** Objects read from the state per batch, and looked up in the ledger with one query. */
const BATCH = 200;
/**
 * PostgreSQL connections loading different objects at once. A server parses a COPY on one core per
 * connection, and its parsing (jsonb, typed values) costs about as much CPU as this process's
 * encoding, so two lanes keep two cores busy. DuckDB is one file written by one connection.
 */
const PG_LANES = 2;
/** Waits before each new try after a lost connection: about a minute in all, then the run fails and can be resumed. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 16000, 30000];

/** The parsed target, or a UsageError naming the problem (without the password). */
export function checkLoadUrl(raw: string): LoadUrl {
  const u = parseLoadUrl(raw);
  if ('problem' in u) throw new UsageError(u.problem);
  return u;
}

async function openTarget(u: LoadUrl, table: string): Promise<LoadTarget> {
  // Imported here: a run without --load loads neither driver.
  if (u.kind === 'duckdb') return (await import('../load/duckdb.js')).DuckDbTarget.open(u.path, table);
  return (await import('../load/postgres.js')).PostgresTarget.open(u.url, table);
}

/** A failure that a new connection may cure (the server restarted, the network dropped). */
function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300'].includes(code) || code.startsWith('08')) return true;
  return typeof e.message === 'string' && /Connection terminated|connection (is )?(closed|lost)|Client has encountered a connection error/i.test(e.message);
}

/** Writes (or clears) an object's load_refused records, atomically, beside its other outputs (gzip for a .gz object, as its errors/ are). */
function writeRefusals(localDir: string, relPath: string, obj: ObjectToLoad, result: ObjectLoad): void {
  const path = join(localDir, 'load-refused', relPath);
  if (result.refused.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  const text = result.refused.map((f) => refusalRecord(obj.source, obj.etag, f.line, f.message, f.bytes) + '\n').join('');
  writeFileSync(`${path}.partial`, obj.gz ? gzipSync(text) : text);
  renameSync(`${path}.partial`, path);
}

/** Loads every published object of `run`'s target that the ledger does not already hold. */
export async function loadPublished(db: Db, run: RunRow, settings: LoadSettings, log: Logger): Promise<LoadFigures> {
  const u = checkLoadUrl(settings.url);
  const started = Date.now();
  const figures: LoadFigures = { objects: 0, loaded: 0, skipped: 0, rows: 0, refused: 0, ms: 0 };
  const cols = columnsOf(run.schema_text);
  const connect = async () => {
    const t = await openTarget(u, settings.table);
    try {
      await t.prepare(cols, settings.loadRejects);
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  };
  log.info(`loading into ${settings.table} at ${u.shown}`);
  // Lane 0 connects (and prepares the table) first, so the other lanes find it made.
  const lanes: Array<LoadTarget | undefined> = [await connect()];
  for (let i = 1; i < (u.kind === 'postgres' ? PG_LANES : 1); i++) lanes.push(undefined);
  const sourceIsFile = run.kind === 'local' && existsSync(run.source) && statSync(run.source).isFile();

  /** Loads one object on lane `lane`, reconnecting with backoff while the failure is transient. */
  const loadOne = async (lane: number, row: ObjectRow, obj: ObjectToLoad): Promise<void> => {
    let result: ObjectLoad | undefined;
    for (let attempt = 0; !result; attempt++) {
      try {
        lanes[lane] ??= await connect();
        result = await lanes[lane].load(obj);
      } catch (err) {
        if (!isTransient(err) || attempt >= BACKOFF_MS.length) throw err;
        log.warn('lost the database connection; trying again', { object: row.key, wait_ms: BACKOFF_MS[attempt], error: (err as Error).message });
        await lanes[lane]?.close().catch(() => {});
        lanes[lane] = undefined;
        await new Promise((r) => setTimeout(r, BACKOFF_MS[attempt]));
      }
    }
    if (result.skipped) {
      figures.skipped++;
      return;
    }
    figures.loaded++;
    figures.rows += result.rows;
    figures.refused += result.refused.length;
    writeRefusals(run.local_dir, row.rel_path, obj, result);
    setLoadRefused(db, row.id, result.refused.length);
    if (result.refused.length) log.warn('lines refused by the database', { object: row.key, refused: result.refused.length, first: result.refused[0].message });
    log.debug('loaded', { object: row.key, rows: result.rows });
  };

  try {
    for (const rows of keysetPages((after) => publishedObjects(db, run.target, after, BATCH), (row) => row.id)) {
      const objs = rows.map((row) => {
        const p = objectPaths(run.local_dir, row.rel_path);
        const obj: ObjectToLoad = {
          source: objectSource(run, row, sourceIsFile).sourceName,
          etag: row.done_etag ?? row.etag,
          rulesHash: row.done_schema_hash ?? run.schema_hash,
          runId: row.last_run_id ?? run.id,
          output: p.output,
          errors: existsSync(p.errors) ? p.errors : undefined,
          gz: row.gz === 1,
        };
        return { row, obj };
      });
      // Only a quick look to skip loaded objects in bulk: load() checks again in its transaction.
      const ledger = await (lanes[0] ?? (lanes[0] = await connect())).ledger(objs.map((o) => o.obj.source)).catch((err: unknown) => {
        if (isTransient(err)) return new Map();
        throw err;
      });
      const todo = objs.filter(({ obj }) => {
        figures.objects++;
        const led = ledger.get(obj.source);
        const loaded = (led?.etag === obj.etag && led.rules_hash === obj.rulesHash) || !existsSync(obj.output);
        if (loaded) figures.skipped++;
        return !loaded;
      });
      // Each lane takes the next object when it is free; after a failure no lane starts another.
      let next = 0;
      let failed = false;
      const settled = await Promise.allSettled(
        lanes.map(async (_, lane) => {
          while (!failed && next < todo.length) {
            const { row, obj } = todo[next++];
            await loadOne(lane, row, obj).catch((err: unknown) => {
              failed = true;
              throw err;
            });
          }
        }),
      );
      const firstError = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (firstError) throw firstError.reason;
    }
  } finally {
    for (const t of lanes) await t?.close().catch(() => {});
  }
  figures.ms = Date.now() - started;
  const secs = figures.ms / 1000;
  log.info(
    `loaded ${figures.loaded} object(s), ${figures.rows} rows${figures.refused ? `, ${figures.refused} refused (see load-refused/)` : ''} into ${settings.table} in ${secs.toFixed(1)} s; ${figures.skipped} already loaded`,
    { rows_per_s: secs > 0 ? Math.round(figures.rows / secs) : undefined },
  );
  return figures;
}
