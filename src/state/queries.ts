/**
 * Every statement cleaner runs against its state, one exported function each. Transitions (the
 * functions documented `from → to`) name the state they move from in their WHERE clause and throw
 * StateTransitionError when no row changed; so do the updates of one row by id. The few statements
 * for which changing no row is a legitimate outcome say so in their doc comment.
 *
 * Transactions are IMMEDIATE: the main thread and the clean workers write through their own
 * connections, and a deferred transaction that reads first and then writes can fail with
 * SQLITE_BUSY at once instead of waiting its turn (busy_timeout).
 */
import { StateTransitionError } from '../errors.js';
import type { Db } from './db.js';

/**
 * Object states, mirrored by the CHECK constraint in migrations/0001_init.sql (a unit test holds
 * the two together). The statements below spell states as SQL literals so each reads on its own.
 */
export type ObjectStateName = 'listed' | 'downloading' | 'downloaded' | 'cleaning' | 'publishing' | 'done' | 'failed' | 'gone';

/** How many times an object with the same ETag is tried before later runs leave it failed. */
export const MAX_ATTEMPTS = 3;

export interface RunParams {
  target: string;
  kind: 's3' | 'local';
  source: string;
  bucket: string | null;
  prefix: string | null;
  endpoint: string | null;
  region: string | null;
  localDir: string;
  schemaOrigin: string;
  schemaText: string;
  schemaHash: string;
  options: Record<string, unknown>;
}

export interface RunRow {
  id: number;
  target: string;
  kind: 's3' | 'local';
  source: string;
  bucket: string | null;
  prefix: string | null;
  endpoint: string | null;
  region: string | null;
  local_dir: string;
  schema_origin: string;
  schema_text: string;
  schema_hash: string;
  options: string;
  state: 'running' | 'done' | 'failed' | 'interrupted';
  listed: number;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  message: string | null;
  gate: string | null;
  /** Listed objects left out by the run's --include/--exclude filters, and as markers. */
  excluded: number;
  markers: number;
  other_shards: number;
  /** The last key of the last committed listing page (migration 0004), while the listing is not complete. */
  listed_after: string | null;
}

export interface ObjectRow {
  id: number;
  target: string;
  key: string;
  rel_path: string;
  etag: string;
  size: number;
  gz: number;
  state: ObjectStateName;
  downloaded_bytes: number;
  clean_offset: number;
  out_len: number;
  err_len: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  by_reason: string;
  input_bytes: number;
  clean_schema_hash: string | null;
  done_etag: string | null;
  done_schema_hash: string | null;
  attempts: number;
  error: string | null;
  last_run_id: number | null;
  download_ms: number;
  clean_ms: number;
  by_rule: string;
  quarantined: number;
  /** Lines the database refused in the object's latest load (migration 0006). */
  load_refused: number;
}

/** What an object's lines came to: counters, rejects by reason, and by rule. */
export interface LineCounts {
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  byReason: Record<string, number>;
  byRule: RuleFigures;
}

/** The counts of an object up to `offset` of its input, and the output lengths they correspond to. */
export interface Checkpoint extends LineCounts {
  offset: number;
  outLen: number;
  errLen: number;
}

/** Rejects by rule, each with a few example line references. */
export type RuleFigures = Record<string, { count: number; examples: Array<{ line: number; offset: number }> }>;

const now = () => new Date().toISOString();

function expectChange(info: { changes: number }, what: string): void {
  if (info.changes !== 1) throw new StateTransitionError(what);
}

/** Records a new run and returns its id. */
export function createRun(db: Db, p: RunParams): number {
  const info = db
    .prepare(
      `INSERT INTO runs (target, kind, source, bucket, prefix, endpoint, region, local_dir, schema_origin, schema_text,
                         schema_hash, options, state, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
    )
    .run(p.target, p.kind, p.source, p.bucket, p.prefix, p.endpoint, p.region, p.localDir, p.schemaOrigin, p.schemaText, p.schemaHash, JSON.stringify(p.options), now());
  return Number(info.lastInsertRowid);
}

/**
 * Records that rules with this hash passed the check of `checker` (cleaner's and ajv's versions),
 * with the warnings it gave: a later run of the same text under the same program skips the check
 * (checkedRulesWarnings). Recording it again changes nothing.
 */
export function recordCheckedRules(db: Db, schemaHash: string, checker: string, warnings: string[]): void {
  db.prepare('INSERT OR IGNORE INTO checked_rules (schema_hash, checker, warnings, checked_at) VALUES (?, ?, ?, ?)').run(schemaHash, checker, JSON.stringify(warnings), now());
}

/**
 * The warnings of an earlier check of rules with this hash by `checker`, or undefined when this
 * state holds none (a state from before migration 0007 has no such table: none either).
 */
export function checkedRulesWarnings(db: Db, schemaHash: string, checker: string): string[] | undefined {
  let row: { warnings: string } | undefined;
  try {
    row = db.prepare('SELECT warnings FROM checked_rules WHERE schema_hash = ? AND checker = ?').get(schemaHash, checker) as { warnings: string } | undefined;
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return undefined;
    throw err;
  }
  if (row === undefined) return undefined;
  const warnings = JSON.parse(row.warnings) as unknown;
  return Array.isArray(warnings) && warnings.every((w) => typeof w === 'string') ? warnings : undefined;
}

/** The run with `id`, or the latest run when `id` is undefined. */
export function getRun(db: Db, id?: number): RunRow | undefined {
  if (id === undefined) return db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
  return db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
}

/** All runs, newest first. */
export function listRuns(db: Db): RunRow[] {
  return db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as RunRow[];
}

/** The newest run that did not finish, if any. */
export function latestUnfinishedRun(db: Db): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE state IN ('running', 'interrupted', 'failed') ORDER BY id DESC LIMIT 1").get() as RunRow | undefined;
}

/** Marks a run as being worked on again (by resume). */
export function reopenRun(db: Db, id: number): void {
  expectChange(
    db.prepare("UPDATE runs SET state = 'running', finished_at = NULL, exit_code = NULL, message = NULL WHERE id = ? AND state IN ('running', 'interrupted', 'failed')").run(id),
    `reopen run ${id}`,
  );
}

/**
 * Ends a run with its final state and exit code, from whatever state it is in: a run marked done
 * whose report then fails to write is ended again as failed, with the error that stopped it.
 */
export function finishRun(db: Db, id: number, state: 'done' | 'failed' | 'interrupted', exitCode: number, message: string | null): void {
  expectChange(
    db.prepare('UPDATE runs SET state = ?, finished_at = ?, exit_code = ?, message = ? WHERE id = ?').run(state, now(), exitCode, message, id),
    `finish run ${id} as ${state}`,
  );
}

/** Runs of the same target that another run supersedes: they can no longer be resumed (there may be none). */
export function supersedeUnfinished(db: Db, target: string, exceptId: number): void {
  db.prepare(
    "UPDATE runs SET state = 'interrupted', finished_at = COALESCE(finished_at, ?), message = COALESCE(message, ?) WHERE target = ? AND id != ? AND state = 'running'",
  ).run(now(), `superseded by run ${exceptId}`, target, exceptId);
}

/** One object as the manifest stage found it. */
export interface ListedObject {
  key: string;
  relPath: string;
  etag: string;
  size: number;
  gz: boolean;
}

/** Why the manifest decided what it did about an object. */
export type ListingReason = 'new' | 'changed' | 'schema_changed' | 'unfinished' | 'retry' | 'unchanged' | 'failed_before';

/**
 * Records one listed object for a run and decides whether the run processes or skips it. Progress
 * survives only when it belongs to the same ETag; a new ETag starts from scratch.
 * `inputComplete` tells whether the complete input of an unchanged object is still on disk.
 */
export function recordListed(
  db: Db,
  runId: number,
  target: string,
  schemaHash: string,
  o: ListedObject,
  initialState: 'listed' | 'downloaded',
  inputComplete: (row: ObjectRow) => boolean,
): ListingReason {
  const row = findObject(db, target, o.key);
  const reason = decideListing(row, o, schemaHash);
  if (!row) {
    db.prepare(
      `INSERT INTO objects (target, key, rel_path, etag, size, gz, state, last_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(target, o.key, o.relPath, o.etag, o.size, o.gz ? 1 : 0, initialState, runId);
  } else if (reason === 'changed') {
    resetObject(db, row.id, o, initialState, runId);
  } else if (reason === 'schema_changed' || reason === 'retry') {
    resetObject(db, row.id, o, inputComplete(row) ? 'downloaded' : initialState, runId, row.attempts);
  } else if (reason === 'unfinished') {
    // In progress with the same ETag: keep it, unless its clean was under other rules.
    if ((row.state === 'cleaning' || row.state === 'publishing') && row.clean_schema_hash !== schemaHash) {
      db.prepare(
        `UPDATE objects SET state = 'downloaded', clean_offset = 0, out_len = 0, err_len = 0, lines = 0, valid = 0, rejected = 0,
                blank = 0, by_reason = '{}', by_rule = '{}', input_bytes = 0, clean_schema_hash = NULL WHERE id = ?`,
      ).run(row.id);
    }
    db.prepare('UPDATE objects SET last_run_id = ?, size = ? WHERE id = ?').run(runId, o.size, row.id);
  }
  const id = row ? row.id : (db.prepare('SELECT id FROM objects WHERE target = ? AND key = ?').get(target, o.key) as { id: number }).id;
  const skip = reason === 'unchanged' || reason === 'failed_before';
  db.prepare(
    `INSERT INTO run_objects (run_id, object_id, action, reason, outcome, error) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, object_id) DO NOTHING`,
  ).run(runId, id, skip ? 'skip' : 'process', reason, skip ? (reason === 'unchanged' ? 'skipped' : 'failed') : null, skip && row ? row.error : null);
  return reason;
}

function resetObject(db: Db, id: number, o: ListedObject, state: 'listed' | 'downloaded', runId: number, attempts = 0): void {
  db.prepare(
    `UPDATE objects SET etag = ?, size = ?, gz = ?, state = ?, downloaded_bytes = 0, clean_offset = 0, out_len = 0, err_len = 0,
            lines = 0, valid = 0, rejected = 0, blank = 0, by_reason = '{}', by_rule = '{}', input_bytes = 0, clean_schema_hash = NULL,
            quarantined = 0, attempts = ?, error = NULL, last_run_id = ?, download_ms = 0, clean_ms = 0
     WHERE id = ?`,
  ).run(o.etag, o.size, o.gz ? 1 : 0, state, attempts, runId, id);
}

/** The object's row in a target, if it was ever listed. */
export function findObject(db: Db, target: string, key: string): ObjectRow | undefined {
  return db.prepare('SELECT * FROM objects WHERE target = ? AND key = ?').get(target, key) as ObjectRow | undefined;
}

/** What a run does with a listed object, given what the state knows of it (no writes). */
export function decideListing(row: ObjectRow | undefined, o: { etag: string }, schemaHash: string): ListingReason {
  if (!row) return 'new';
  if (row.etag !== o.etag || row.state === 'gone') return 'changed';
  if (row.state === 'done') return row.done_schema_hash === schemaHash ? 'unchanged' : 'schema_changed';
  if (row.state === 'failed') return row.attempts >= MAX_ATTEMPTS ? 'failed_before' : 'retry';
  return 'unfinished';
}

/** Marks the run's listing complete: resume need not list again. */
export function markListed(db: Db, runId: number): void {
  expectChange(db.prepare('UPDATE runs SET listed = 1 WHERE id = ?').run(runId), `mark run ${runId} listed`);
}

/** One object by id. */
export function getObject(db: Db, id: number): ObjectRow {
  const row = db.prepare('SELECT * FROM objects WHERE id = ?').get(id) as ObjectRow | undefined;
  if (!row) throw new StateTransitionError(`object ${id} does not exist`);
  return row;
}

/** Objects this run still has to process in the given states, in key order. */
export function objectsInStates(db: Db, runId: number, states: ObjectStateName[]): ObjectRow[] {
  return db
    .prepare(
      `SELECT o.* FROM objects o JOIN run_objects r ON r.object_id = o.id AND r.run_id = ?
       WHERE r.action = 'process' AND r.outcome IS NULL AND o.last_run_id = ? AND o.state IN (${states.map(() => '?').join(',')})
       ORDER BY o.key`,
    )
    .all(runId, runId, ...states) as ObjectRow[];
}

/** listed → downloading (or stays downloading on resume). */
export function startDownload(db: Db, id: number): void {
  expectChange(
    db.prepare("UPDATE objects SET state = 'downloading' WHERE id = ? AND state IN ('listed', 'downloading')").run(id),
    `start downloading object ${id}`,
  );
}

/** The object's size as a GET of the same version reports it (the listing's was stale). */
export function setObjectSize(db: Db, id: number, size: number): void {
  expectChange(db.prepare('UPDATE objects SET size = ? WHERE id = ?').run(size, id), `set the size of object ${id}`);
}

/**
 * Bytes of the partial download that are known to be on disk (fsynced), while downloading: both
 * downloaders commit their last progress before they return, so the object is still downloading.
 */
export function recordDownloadProgress(db: Db, id: number, bytes: number): void {
  expectChange(
    db.prepare("UPDATE objects SET downloaded_bytes = ? WHERE id = ? AND state = 'downloading'").run(bytes, id),
    `record download progress of object ${id}`,
  );
}

/** The object changed under a download: start over with the new version. */
export function restartDownload(db: Db, id: number, etag: string, size: number): void {
  expectChange(
    db.prepare("UPDATE objects SET etag = ?, size = ?, downloaded_bytes = 0, state = 'downloading' WHERE id = ? AND state = 'downloading'").run(etag, size, id),
    `restart download of object ${id}`,
  );
}

/** downloading → downloaded. */
export function finishDownload(db: Db, id: number, bytes: number, ms: number): void {
  expectChange(
    db.prepare("UPDATE objects SET state = 'downloaded', downloaded_bytes = ?, download_ms = download_ms + ? WHERE id = ? AND state = 'downloading'").run(bytes, ms, id),
    `finish download of object ${id}`,
  );
}

/** downloaded → cleaning under the given rules (or stays cleaning on resume). */
export function startClean(db: Db, id: number, schemaHash: string): void {
  expectChange(
    db.prepare("UPDATE objects SET state = 'cleaning', clean_schema_hash = ? WHERE id = ? AND state IN ('downloaded', 'cleaning')").run(schemaHash, id),
    `start cleaning object ${id}`,
  );
}

/** Commits a clean checkpoint; the outputs it names were fsynced before this call. */
export function commitCheckpoint(db: Db, id: number, cp: Checkpoint, addMs: number): void {
  expectChange(
    db
      .prepare(
        `UPDATE objects SET clean_offset = ?, input_bytes = ?, out_len = ?, err_len = ?, lines = ?, valid = ?, rejected = ?, blank = ?,
                by_reason = ?, by_rule = ?, clean_ms = clean_ms + ? WHERE id = ? AND state = 'cleaning'`,
      )
      .run(cp.offset, cp.offset, cp.outLen, cp.errLen, cp.lines, cp.valid, cp.rejected, cp.blank, JSON.stringify(cp.byReason), JSON.stringify(cp.byRule), addMs, id),
    `checkpoint object ${id}`,
  );
}

/** cleaning → publishing, with the final checkpoint: from here on, resume only renames. */
export function markPublishing(db: Db, id: number, cp: Checkpoint, addMs: number): void {
  db.transaction(() => {
    commitCheckpoint(db, id, cp, addMs);
    expectChange(db.prepare("UPDATE objects SET state = 'publishing' WHERE id = ? AND state = 'cleaning'").run(id), `publish object ${id}`);
  }).immediate();
}

function freeze(db: Db, runId: number, id: number, outcome: 'done' | 'failed' | 'gone', error: string | null): void {
  db.prepare(
    `UPDATE run_objects SET outcome = ?, lines = o.lines, valid = o.valid, rejected = o.rejected, blank = o.blank,
            by_reason = o.by_reason, by_rule = o.by_rule, quarantined = o.quarantined, bytes = o.size, error = ?
     FROM (SELECT * FROM objects WHERE id = ?) AS o WHERE run_objects.run_id = ? AND run_objects.object_id = ?`,
  ).run(outcome, error, id, runId, id);
}

/** publishing → done: the outputs are in place (in quarantine/ when `quarantined`). */
export function markDone(db: Db, runId: number, id: number, quarantined = false): void {
  db.transaction(() => {
    expectChange(
      db
        .prepare("UPDATE objects SET state = 'done', done_etag = etag, done_schema_hash = clean_schema_hash, attempts = 0, error = NULL, quarantined = ? WHERE id = ? AND state = 'publishing'")
        .run(quarantined ? 1 : 0, id),
      `finish object ${id}`,
    );
    freeze(db, runId, id, 'done', null);
  }).immediate();
}

/** Any unfinished state → failed, counting the attempt. */
export function markFailed(db: Db, runId: number, id: number, error: string): void {
  db.transaction(() => {
    expectChange(
      db.prepare("UPDATE objects SET state = 'failed', attempts = attempts + 1, error = ? WHERE id = ? AND state NOT IN ('done', 'gone', 'failed')").run(error, id),
      `fail object ${id}`,
    );
    freeze(db, runId, id, 'failed', error);
  }).immediate();
}

/** The object was deleted after it was listed. */
export function markGone(db: Db, runId: number, id: number): void {
  db.transaction(() => {
    expectChange(
      db.prepare("UPDATE objects SET state = 'gone', error = 'deleted from the source after listing' WHERE id = ? AND state NOT IN ('done', 'gone')").run(id),
      `mark object ${id} gone`,
    );
    freeze(db, runId, id, 'gone', 'deleted from the source after listing');
  }).immediate();
}

/** Per-run figures, from frozen rows plus the live counters of objects still in flight. */
export interface RunObjectFigures {
  key: string;
  action: 'process' | 'skip';
  reason: string;
  outcome: string | null;
  state: string;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  by_reason: string;
  bytes: number;
  input_bytes: number;
  error: string | null;
  download_ms: number;
  clean_ms: number;
  by_rule: string;
  quarantined: number;
  rel_path: string;
  object_id: number;
}

/** A run's objects with their figures for that run: frozen rows, or the live counters of objects still in flight. */
const RUN_FIGURES = `SELECT o.key, r.action, r.reason, r.outcome, o.state,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.lines ELSE r.lines END AS lines,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.valid ELSE r.valid END AS valid,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.rejected ELSE r.rejected END AS rejected,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.blank ELSE r.blank END AS blank,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.by_reason ELSE r.by_reason END AS by_reason,
              CASE WHEN r.outcome IS NULL THEN o.size ELSE r.bytes END AS bytes,
              CASE WHEN r.outcome IS NULL AND o.last_run_id = r.run_id THEN o.by_rule ELSE r.by_rule END AS by_rule,
              CASE WHEN r.outcome IS NULL THEN o.quarantined ELSE r.quarantined END AS quarantined,
              o.input_bytes, COALESCE(r.error, o.error) AS error, o.download_ms, o.clean_ms, o.rel_path, o.id AS object_id
       FROM run_objects r JOIN objects o ON o.id = r.object_id`;

/** Every object of a run with its figures for that run, in key order (all at once: eachRunObject reads a page at a time). */
export function runObjects(db: Db, runId: number): RunObjectFigures[] {
  return db.prepare(`${RUN_FIGURES} WHERE r.run_id = ? ORDER BY o.key`).all(runId) as RunObjectFigures[];
}

/** Objects of a run that ended failed, including those skipped because earlier attempts failed. */
export function countFailed(db: Db, runId: number): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM run_objects WHERE run_id = ? AND outcome = 'failed'").get(runId) as { n: number }).n;
}

/** Stores the quality gate's settings and verdict with the run. */
export function setRunGate(db: Db, runId: number, gate: unknown): void {
  expectChange(db.prepare('UPDATE runs SET gate = ? WHERE id = ?').run(JSON.stringify(gate), runId), `store the gate of run ${runId}`);
}

/**
 * Records that an object's output of this run was moved to quarantine/. Not guarded by the flag's
 * prior value: the object's own flag may already be set by an earlier run that quarantined it.
 */
export function markQuarantined(db: Db, runId: number, objectId: number): void {
  db.transaction(() => {
    expectChange(db.prepare('UPDATE objects SET quarantined = 1 WHERE id = ?').run(objectId), `quarantine object ${objectId}`);
    expectChange(
      db.prepare('UPDATE run_objects SET quarantined = 1 WHERE run_id = ? AND object_id = ?').run(runId, objectId),
      `quarantine object ${objectId} in run ${runId}`,
    );
  }).immediate();
}

/** Live progress of a run, read from the committed state. */
export interface RunProgress {
  objects: number;
  downloaded: number;
  cleaned: number;
  failed: number;
  totalBytes: number;
  cleanedInputBytes: number;
  lines: number;
  rejected: number;
}

/** Sums what the run's workers have committed so far (objects this run processes). */
export function runProgress(db: Db, runId: number): RunProgress {
  const row = db
    .prepare(
      `SELECT COUNT(*) AS objects,
              SUM(CASE WHEN o.state IN ('downloaded', 'cleaning', 'publishing', 'done') OR r.outcome = 'done' THEN 1 ELSE 0 END) AS downloaded,
              SUM(CASE WHEN r.outcome = 'done' THEN 1 ELSE 0 END) AS cleaned,
              SUM(CASE WHEN r.outcome IN ('failed', 'gone') THEN 1 ELSE 0 END) AS failed,
              SUM(o.size) AS totalBytes,
              SUM(CASE WHEN r.outcome = 'done' THEN o.size WHEN o.gz = 0 THEN o.input_bytes ELSE 0 END) AS cleanedInputBytes,
              SUM(CASE WHEN r.outcome IS NULL THEN o.lines ELSE r.lines END) AS lines,
              SUM(CASE WHEN r.outcome IS NULL THEN o.rejected ELSE r.rejected END) AS rejected
       FROM run_objects r JOIN objects o ON o.id = r.object_id WHERE r.run_id = ? AND r.action = 'process'`,
    )
    .get(runId) as Record<keyof RunProgress, number | null>;
  const out = {} as RunProgress;
  for (const k of Object.keys(row) as Array<keyof RunProgress>) out[k] = row[k] ?? 0;
  return out;
}

/** When the last run over `source` that ended with exit code 0 finished (ISO time), if one did. */
export function lastSuccessfulRun(db: Db, source: string): string | undefined {
  const row = db.prepare("SELECT MAX(finished_at) AS at FROM runs WHERE source = ? AND state = 'done' AND exit_code = 0").get(source) as { at: string | null };
  return row.at ?? undefined;
}

/** Records how many listed objects the run's selection left out (written once the listing is complete). */
export function recordExclusions(db: Db, runId: number, n: { excluded: number; markers: number; otherShards: number }): void {
  expectChange(
    db.prepare('UPDATE runs SET excluded = ?, markers = ?, other_shards = ? WHERE id = ?').run(n.excluded, n.markers, n.otherShards, runId),
    `record exclusions of run ${runId}`,
  );
}

// ---- Loads into a database (issue 13): the database's own ledger decides what is loaded. ----

/**
 * Published objects of a target (done, output not in quarantine/), id above `afterId`, in id order,
 * at most `limit`: the load stage reads them a batch at a time.
 */
export function publishedObjects(db: Db, target: string, afterId: number, limit: number): ObjectRow[] {
  return db
    .prepare("SELECT * FROM objects WHERE target = ? AND state = 'done' AND quarantined = 0 AND id > ? ORDER BY id LIMIT ?")
    .all(target, afterId, limit) as ObjectRow[];
}

/** The newest run that ended done, if any: what `cleaner load` loads by default. */
export function latestDoneRun(db: Db): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE state = 'done' ORDER BY id DESC LIMIT 1").get() as RunRow | undefined;
}

// ---- Delivery to an S3 destination (--dest; migrations/0005_deliveries.sql) ----

/** The kinds of file an object delivers: its main file (output/ or quarantine/) and its rejects. */
export type DeliveryKind = 'output' | 'quarantine' | 'errors';

export interface DeliveryRow {
  object_id: number;
  dest: string;
  etag: string;
  schema_hash: string;
  quarantined: number;
  state: 'uploading' | 'delivered';
  how: 'uploaded' | 'found';
  files: string;
  run_id: number;
  delivered_at: string | null;
}

export interface DeliveryFileRow {
  object_id: number;
  dest: string;
  kind: DeliveryKind;
  size: number;
  part_size: number;
  upload_id: string | null;
  done: number;
}

/** The object's delivery to `dest`, if one was ever started. */
export function getDelivery(db: Db, objectId: number, dest: string): DeliveryRow | undefined {
  return db.prepare('SELECT * FROM deliveries WHERE object_id = ? AND dest = ?').get(objectId, dest) as DeliveryRow | undefined;
}

/**
 * Starts (or restarts) delivering an object's current files to `dest`; returns the open multipart
 * uploads of a superseded attempt, which the caller aborts. An attempt for the same version and
 * placement is kept as it is, so its completed files and parts are not sent again.
 */
export function beginDelivery(db: Db, runId: number, o: ObjectRow, dest: string, files: Array<{ kind: DeliveryKind; size: number; partSize: number }>): DeliveryFileRow[] {
  return db.transaction(() => {
    const d = getDelivery(db, o.id, dest);
    const same = d && d.state === 'uploading' && d.etag === o.done_etag && d.schema_hash === o.done_schema_hash && d.quarantined === o.quarantined;
    if (same) {
      db.prepare('UPDATE deliveries SET run_id = ? WHERE object_id = ? AND dest = ?').run(runId, o.id, dest);
      return [];
    }
    const stale = db.prepare('SELECT * FROM delivery_files WHERE object_id = ? AND dest = ? AND upload_id IS NOT NULL').all(o.id, dest) as DeliveryFileRow[];
    db.prepare('DELETE FROM delivery_files WHERE object_id = ? AND dest = ?').run(o.id, dest);
    // `files` keeps what the destination held before, so stale files there can be removed.
    db.prepare(
      `INSERT INTO deliveries (object_id, dest, etag, schema_hash, quarantined, state, how, files, run_id)
       VALUES (?, ?, ?, ?, ?, 'uploading', 'uploaded', '{}', ?)
       ON CONFLICT (object_id, dest) DO UPDATE SET etag = excluded.etag, schema_hash = excluded.schema_hash,
         quarantined = excluded.quarantined, state = 'uploading', how = 'uploaded', run_id = excluded.run_id, delivered_at = NULL`,
    ).run(o.id, dest, o.done_etag, o.done_schema_hash, o.quarantined, runId);
    const add = db.prepare('INSERT INTO delivery_files (object_id, dest, kind, size, part_size) VALUES (?, ?, ?, ?, ?)');
    for (const f of files) add.run(o.id, dest, f.kind, f.size, f.partSize);
    return stale;
  }).immediate();
}

/** One file of a delivery in progress. */
export function getDeliveryFile(db: Db, objectId: number, dest: string, kind: DeliveryKind): DeliveryFileRow {
  const row = db.prepare('SELECT * FROM delivery_files WHERE object_id = ? AND dest = ? AND kind = ?').get(objectId, dest, kind) as DeliveryFileRow | undefined;
  if (!row) throw new StateTransitionError(`no delivery of ${kind} for object ${objectId}`);
  return row;
}

/** Records the multipart upload a file goes up in (null: none open, start another). Parts of an older one are dropped. */
export function setDeliveryUpload(db: Db, objectId: number, dest: string, kind: DeliveryKind, uploadId: string | null): void {
  db.transaction(() => {
    db.prepare('DELETE FROM delivery_parts WHERE object_id = ? AND dest = ? AND kind = ?').run(objectId, dest, kind);
    expectChange(
      db.prepare('UPDATE delivery_files SET upload_id = ? WHERE object_id = ? AND dest = ? AND kind = ? AND done = 0').run(uploadId, objectId, dest, kind),
      `set the upload of ${kind} of object ${objectId}`,
    );
  }).immediate();
}

/** The completed parts of a file's open multipart upload, by part number. */
export function deliveryParts(db: Db, objectId: number, dest: string, kind: DeliveryKind): Map<number, string> {
  const rows = db.prepare('SELECT part_number, etag FROM delivery_parts WHERE object_id = ? AND dest = ? AND kind = ? ORDER BY part_number').all(objectId, dest, kind) as Array<{
    part_number: number;
    etag: string;
  }>;
  return new Map(rows.map((r) => [r.part_number, r.etag]));
}

/** Commits one completed part of a multipart upload (the upload is still the file's). */
export function recordDeliveryPart(db: Db, objectId: number, dest: string, kind: DeliveryKind, uploadId: string, partNumber: number, etag: string): void {
  db.transaction(() => {
    const f = getDeliveryFile(db, objectId, dest, kind);
    if (f.upload_id !== uploadId) throw new StateTransitionError(`part ${partNumber} of ${kind} of object ${objectId}: upload ${uploadId} is not the file's`);
    db.prepare('INSERT OR REPLACE INTO delivery_parts (object_id, dest, kind, part_number, etag) VALUES (?, ?, ?, ?, ?)').run(objectId, dest, kind, partNumber, etag);
  }).immediate();
}

/** A file of a delivery is complete at the destination: its upload and parts are forgotten. */
export function finishDeliveryFile(db: Db, objectId: number, dest: string, kind: DeliveryKind): void {
  db.transaction(() => {
    db.prepare('DELETE FROM delivery_parts WHERE object_id = ? AND dest = ? AND kind = ?').run(objectId, dest, kind);
    expectChange(
      db.prepare('UPDATE delivery_files SET done = 1, upload_id = NULL WHERE object_id = ? AND dest = ? AND kind = ? AND done = 0').run(objectId, dest, kind),
      `finish delivering ${kind} of object ${objectId}`,
    );
  }).immediate();
}

/** Bytes of each file an object has at a destination. */
export type DeliveredFiles = Partial<Record<DeliveryKind, number>>;

/** uploading → delivered: every file is in place and the stale ones are removed; `files` are those present. */
export function markDelivered(db: Db, objectId: number, dest: string, files: DeliveredFiles): void {
  db.transaction(() => {
    expectChange(
      db
        .prepare("UPDATE deliveries SET state = 'delivered', files = ?, delivered_at = ? WHERE object_id = ? AND dest = ? AND state = 'uploading'")
        .run(JSON.stringify(files), now(), objectId, dest),
      `mark object ${objectId} delivered`,
    );
    db.prepare('DELETE FROM delivery_files WHERE object_id = ? AND dest = ?').run(objectId, dest);
  }).immediate();
}

/** A delivery given up: its open uploads (returned, for the caller to abort) and its progress are forgotten. */
export function dropDelivery(db: Db, objectId: number, dest: string): DeliveryFileRow[] {
  return db.transaction(() => {
    const open = db.prepare('SELECT * FROM delivery_files WHERE object_id = ? AND dest = ? AND upload_id IS NOT NULL').all(objectId, dest) as DeliveryFileRow[];
    db.prepare("DELETE FROM deliveries WHERE object_id = ? AND dest = ? AND state = 'uploading'").run(objectId, dest);
    return open;
  }).immediate();
}

/** Multipart uploads left open in the state for `dest` (a run that ends aborts them). */
export function openDeliveryUploads(db: Db, runId: number, dest: string): DeliveryFileRow[] {
  return db
    .prepare(
      `SELECT f.* FROM delivery_files f JOIN deliveries d ON d.object_id = f.object_id AND d.dest = f.dest
       WHERE d.run_id = ? AND f.dest = ? AND f.upload_id IS NOT NULL`,
    )
    .all(runId, dest) as DeliveryFileRow[];
}

/** What the destination already holds of an object, as its output's metadata records it. */
export interface FoundAtDest extends Pick<LineCounts, 'lines' | 'valid' | 'rejected' | 'blank'> {
  quarantined: boolean;
  files: DeliveredFiles;
}

/**
 * listed → done without downloading: the destination already holds the object's files from the
 * same ETag and rules (the state that knew it was lost). The run skips it as `delivered`.
 */
export function markFoundAtDest(db: Db, runId: number, o: ObjectRow, schemaHash: string, dest: string, f: FoundAtDest): void {
  db.transaction(() => {
    expectChange(
      db
        .prepare(
          `UPDATE objects SET state = 'done', done_etag = etag, done_schema_hash = ?, clean_schema_hash = ?, lines = ?, valid = ?, rejected = ?,
                  blank = ?, quarantined = ?, attempts = 0, error = NULL WHERE id = ? AND state = 'listed' AND downloaded_bytes = 0`,
        )
        .run(schemaHash, schemaHash, f.lines, f.valid, f.rejected, f.blank, f.quarantined ? 1 : 0, o.id),
      `mark object ${o.id} found at the destination`,
    );
    db.prepare(
      `INSERT INTO deliveries (object_id, dest, etag, schema_hash, quarantined, state, how, files, run_id, delivered_at)
       VALUES (?, ?, ?, ?, ?, 'delivered', 'found', ?, ?, ?)
       ON CONFLICT (object_id, dest) DO UPDATE SET etag = excluded.etag, schema_hash = excluded.schema_hash, quarantined = excluded.quarantined,
         state = 'delivered', how = 'found', files = excluded.files, run_id = excluded.run_id, delivered_at = excluded.delivered_at`,
    ).run(o.id, dest, o.etag, schemaHash, f.quarantined ? 1 : 0, JSON.stringify(f.files), runId, now());
    expectChange(
      db
        .prepare(
          `UPDATE run_objects SET action = 'skip', reason = 'delivered', outcome = 'skipped', lines = ?, valid = ?, rejected = ?, blank = ?, quarantined = ?
           WHERE run_id = ? AND object_id = ? AND outcome IS NULL`,
        )
        .run(f.lines, f.valid, f.rejected, f.blank, f.quarantined ? 1 : 0, runId, o.id),
      `skip object ${o.id} as delivered`,
    );
  }).immediate();
}

/** One delivered file as a loader manifest lists it. */
export interface DeliveredObject {
  key: string;
  rel_path: string;
  how: 'uploaded' | 'found';
  files: string;
  quarantined: number;
  valid: number;
  rejected: number;
  lines: number;
  etag: string;
}

// ---------------------------------------------------------------------------------------------
// A real lake (issue 11): work and figures read in bounded batches, never a whole run at once.
// Keyset pagination by object id: each batch is an index range scan (objects_run for work, the
// run_objects primary key for figures), so a run of 1,000,000 objects costs as much per batch as
// one of 1,000, and nothing holds a row per object for the whole run.

/** Up to `limit` objects this run still has to process in `state`, with ids above `afterId`, in id order. */
export function objectsBatch(db: Db, runId: number, state: ObjectStateName, afterId: number, limit: number): ObjectRow[] {
  return db
    .prepare(
      `SELECT o.* FROM objects o JOIN run_objects r ON r.run_id = ? AND r.object_id = o.id
       WHERE o.last_run_id = ? AND o.state = ? AND o.id > ? AND r.action = 'process' AND r.outcome IS NULL
       ORDER BY o.id LIMIT ?`,
    )
    .all(runId, runId, state, afterId, limit) as ObjectRow[];
}

/** Bytes of the objects this run still has to process (listed by it, not yet finished). */
export function bytesToProcess(db: Db, runId: number): number {
  const row = db
    .prepare(
      `SELECT SUM(o.size) AS n FROM run_objects r JOIN objects o ON o.id = r.object_id
       WHERE r.run_id = ? AND r.action = 'process' AND r.outcome IS NULL AND o.last_run_id = r.run_id`,
    )
    .get(runId) as { n: number | null };
  return row.n ?? 0;
}

/** Which of a run's objects a page of figures holds. */
export type FiguresFilter = 'all' | 'detailed' | 'cleaned';

const FIGURES_WHERE: Record<FiguresFilter, string> = {
  all: '',
  // Everything but the objects skipped as unchanged: those are counted, not listed.
  detailed: "AND NOT (r.action = 'skip' AND r.outcome = 'skipped')",
  cleaned: "AND r.action = 'process' AND r.outcome = 'done'",
};

/** Up to `limit` of a run's objects with their figures (as runObjects), object ids above `afterId`, in id order. */
export function runObjectsPage(db: Db, runId: number, afterId: number, limit: number, filter: FiguresFilter = 'all'): RunObjectFigures[] {
  return db
    .prepare(`${RUN_FIGURES} WHERE r.run_id = ? AND r.object_id > ? ${FIGURES_WHERE[filter]} ORDER BY r.object_id LIMIT ?`)
    .all(runId, afterId, limit) as RunObjectFigures[];
}

/** Objects of a run skipped as unchanged (listed in no report: counted). */
export function countSkippedUnchanged(db: Db, runId: number): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM run_objects WHERE run_id = ? AND action = 'skip' AND outcome = 'skipped'").get(runId) as { n: number }).n;
}

/**
 * Pages of rows by keyset: `page(after)` returns rows with ids above `after`, in id order. The
 * next page is read only when the caller asks for it, so no statement stays open between pages
 * and callers may write meanwhile. With `pageSize`, a short page is known to be the last.
 */
export function* keysetPages<T>(page: (after: number) => T[], idOf: (row: T) => number, pageSize?: number): Generator<T[]> {
  for (let after = 0; ; ) {
    const rows = page(after);
    if (rows.length === 0) return;
    yield rows;
    if (pageSize !== undefined && rows.length < pageSize) return;
    after = idOf(rows[rows.length - 1]);
  }
}

/** A run's objects with their figures, read `pageSize` at a time (no statement stays open between pages: callers may write). */
export function* eachRunObject(db: Db, runId: number, filter: FiguresFilter = 'all', pageSize = 1000): Generator<RunObjectFigures> {
  for (const page of keysetPages((after) => runObjectsPage(db, runId, after, pageSize, filter), (r) => r.object_id, pageSize)) yield* page;
}

/** Objects of a run still to process in `state`, read `pageSize` at a time in id order (callers may write between pages). */
export function* eachObjectToDo(db: Db, runId: number, state: ObjectStateName, pageSize = 256): Generator<ObjectRow> {
  for (const page of keysetPages((after) => objectsBatch(db, runId, state, after, pageSize), (r) => r.id, pageSize)) yield* page;
}

/**
 * Commits a listing page's place: the last key it held and the exclusion counts so far, in the
 * page's own transaction, so a listing killed midway resumes after it. Changes no row when the run is gone.
 */
export function recordListingPage(db: Db, runId: number, lastKey: string, n: { excluded: number; markers: number; otherShards: number }): void {
  expectChange(
    db.prepare('UPDATE runs SET listed_after = ?, excluded = ?, markers = ?, other_shards = ? WHERE id = ? AND listed = 0').run(lastKey, n.excluded, n.markers, n.otherShards, runId),
    `record the listing of run ${runId} up to ${lastKey}`,
  );
}

/** downloaded → listed: the object's input copy is not whole (it is not fsynced; see download.ts), so fetch it again. */
export function downloadAgain(db: Db, id: number): void {
  expectChange(db.prepare("UPDATE objects SET state = 'listed', downloaded_bytes = 0 WHERE id = ? AND state = 'downloaded'").run(id), `download object ${id} again`);
}

// ---------------------------------------------------------------------------------------------
// Delivery at scale (issue 12): the loader manifest read a row at a time.

/** Objects delivered to `dest` by run `runId`, in key order, one at a time (no other statement may run on `db` meanwhile). */
export function eachDeliveredByRun(db: Db, runId: number, dest: string): IterableIterator<DeliveredObject> {
  return db
    .prepare(
      `SELECT o.key, o.rel_path, d.how, d.files, d.quarantined, o.valid, o.rejected, o.lines, d.etag
       FROM deliveries d JOIN objects o ON o.id = d.object_id
       WHERE d.run_id = ? AND d.dest = ? AND d.state = 'delivered' ORDER BY o.key`,
    )
    .iterate(runId, dest) as IterableIterator<DeliveredObject>;
}

/**
 * Up to `limit` finished objects of run `runId` whose current files are not yet at `dest` (never
 * delivered, or delivered from another version or placement), with ids above `afterId`, in id
 * order: a run of millions is delivered a batch at a time.
 */
export function objectsToDeliverBatch(db: Db, runId: number, dest: string, afterId: number, limit: number): ObjectRow[] {
  return db
    .prepare(
      `SELECT o.* FROM run_objects r JOIN objects o ON o.id = r.object_id
       LEFT JOIN deliveries d ON d.object_id = o.id AND d.dest = ?
       WHERE r.run_id = ? AND r.object_id > ? AND o.state = 'done' AND r.outcome IN ('done', 'skipped')
         AND (d.object_id IS NULL OR d.state != 'delivered' OR d.etag != o.done_etag OR d.schema_hash != o.done_schema_hash OR d.quarantined != o.quarantined)
       ORDER BY r.object_id LIMIT ?`,
    )
    .all(dest, runId, afterId, limit) as ObjectRow[];
}

/** Up to `limit` objects run `runId` lists that no run ever started (nothing downloaded, never cleaned), ids above `afterId`, in id order. */
export function objectsNeverStartedBatch(db: Db, runId: number, afterId: number, limit: number): ObjectRow[] {
  return db
    .prepare(
      `SELECT o.* FROM run_objects r JOIN objects o ON o.id = r.object_id
       WHERE r.run_id = ? AND r.object_id > ? AND r.action = 'process' AND r.outcome IS NULL AND o.last_run_id = ? AND o.state = 'listed'
         AND o.done_etag IS NULL AND o.downloaded_bytes = 0
       ORDER BY r.object_id LIMIT ?`,
    )
    .all(runId, afterId, runId, limit) as ObjectRow[];
}

// Group commit of small objects (stages/small-batch.ts): many objects' transitions in one
// transaction, so one fsync of the WAL stands for all of them.

/** What a small object's download and clean came to, for publishSmallObjects. */
export interface SmallObjectCleaned {
  id: number;
  size: number;
  downloadMs: number;
  cleanMs: number;
  schemaHash: string;
  cp: Checkpoint;
}

/**
 * listed (or downloading) → publishing for each object, in one transaction: downloaded and cleaned
 * whole, its outputs fsynced before this call. From here on, resume only renames (as markPublishing).
 */
export function publishSmallObjects(db: Db, objects: SmallObjectCleaned[]): void {
  const stmt = db.prepare(
    `UPDATE objects SET state = 'publishing', downloaded_bytes = ?, download_ms = download_ms + ?, clean_schema_hash = ?,
            clean_offset = ?, input_bytes = ?, out_len = ?, err_len = ?, lines = ?, valid = ?, rejected = ?, blank = ?,
            by_reason = ?, by_rule = ?, clean_ms = clean_ms + ?
     WHERE id = ? AND state IN ('listed', 'downloading', 'downloaded')`,
  );
  db.transaction(() => {
    for (const o of objects) {
      const cp = o.cp;
      expectChange(
        stmt.run(o.size, o.downloadMs, o.schemaHash, cp.offset, cp.offset, cp.outLen, cp.errLen, cp.lines, cp.valid, cp.rejected, cp.blank, JSON.stringify(cp.byReason), JSON.stringify(cp.byRule), o.cleanMs, o.id),
        `publish small object ${o.id}`,
      );
    }
  }).immediate();
}

/** publishing → done for each object (as markDone), in one transaction. */
export function markDoneMany(db: Db, runId: number, objects: Array<{ id: number; quarantined: boolean }>): void {
  db.transaction(() => {
    for (const o of objects) markDone(db, runId, o.id, o.quarantined);
  }).immediate();
}

/** Statement texts kept per connection; past this the cache starts over (SQL built from a list of states varies a little). */
const STATEMENTS_KEPT = 256;
const cachedConnections = new WeakSet<Db>();

/**
 * Makes `db.prepare` return one statement per SQL text, prepared once. Each function here prepares
 * its statement on every call, and a statement's SQLite memory is freed only when V8 collects its
 * small wrapper, which it is in no hurry to do: over 10,000 tiny objects (about six statements
 * each) the process's malloc heap grew to 80 MB. Safe because every statement here runs to
 * completion in one call (run, get, all; never iterate) and none is switched to pluck or raw.
 */
export function cacheStatements(db: Db): void {
  if (cachedConnections.has(db)) return;
  cachedConnections.add(db);
  const prepare = db.prepare.bind(db);
  const kept = new Map<string, ReturnType<Db['prepare']>>();
  db.prepare = ((sql: string) => {
    let stmt = kept.get(sql);
    if (!stmt) {
      if (kept.size >= STATEMENTS_KEPT) kept.clear();
      stmt = prepare(sql);
      kept.set(sql, stmt);
    }
    return stmt;
  }) as Db['prepare'];
}

// ---------------------------------------------------------------------------------------------
// Pruning and paging (issue 11): years of runs over a lake keep the state small, and per-object
// detail is read a page at a time.

/** A run old enough to prune, and whether a delivery still names it (its row then stays). */
export interface PrunableRun {
  id: number;
  local_dir: string;
  /** 1 when a delivery row references the run (deliveries.run_id): its `runs` row stays, its per-run rows go. */
  delivered: number;
}

/**
 * Runs that finished done before `cutoff` (ISO time) and that nothing still needs: never the
 * latest run of a target, nor its latest done run (`cleaner load` loads it by default), nor a run
 * that is not done (it may be resumed), nor one a delivery in progress belongs to. Runs already
 * pruned whose row stays for a delivery (no per-run rows left) are left out.
 */
export function prunableRuns(db: Db, cutoff: string): PrunableRun[] {
  return db
    .prepare(
      `SELECT r.id, r.local_dir, EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id) AS delivered
       FROM runs r
       WHERE r.state = 'done' AND COALESCE(r.finished_at, r.started_at) < ?
         AND r.id NOT IN (SELECT MAX(id) FROM runs GROUP BY target)
         AND r.id NOT IN (SELECT MAX(id) FROM runs WHERE state = 'done' GROUP BY target)
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id AND d.state = 'uploading')
         AND (EXISTS (SELECT 1 FROM run_objects x WHERE x.run_id = r.id) OR NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id))
       ORDER BY r.id`,
    )
    .all(cutoff) as PrunableRun[];
}

/**
 * Drops a done run's per-object rows (run_objects) and, unless a delivery references it, the run
 * itself; objects it last touched forget it (last_run_id NULL): what later runs need of an object
 * (key, ETag, rules hash, state) lives in `objects` and stays. Returns the rows deleted.
 */
export function pruneRun(db: Db, id: number, keepRunRow: boolean): number {
  return db.transaction(() => {
    const rows = db.prepare('DELETE FROM run_objects WHERE run_id = ?').run(id).changes;
    db.prepare('UPDATE objects SET last_run_id = NULL WHERE last_run_id = ?').run(id);
    if (keepRunRow) return rows;
    expectChange(db.prepare("DELETE FROM runs WHERE id = ? AND state = 'done'").run(id), `prune run ${id}`);
    return rows + 1;
  }).immediate();
}

/** Bytes the database takes: its pages, the WAL's committed ones included. */
export function databaseBytes(db: Db): number {
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}

/** Rebuilds the database file without its free pages, and empties the WAL into it. */
export function compactDatabase(db: Db): void {
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/**
 * Up to `limit` of a run's objects with their figures, keys after `afterKey`, in key order. Read
 * along the (target, key) index, so each page costs its own rows whatever the run's size.
 */
export function runObjectsByKey(db: Db, runId: number, target: string, afterKey: string, limit: number): RunObjectFigures[] {
  return db
    .prepare(`${RUN_FIGURES} WHERE o.target = ? AND o.key > ? AND r.run_id = ? ORDER BY o.key LIMIT ?`)
    .all(target, afterKey, runId, limit) as RunObjectFigures[];
}

// ---- Load refusals (cleaner load, status; migrations/0006_load_refused.sql) ----

/** Records how many lines the database refused in the object's latest load (0 clears it). */
export function setLoadRefused(db: Db, objectId: number, refused: number): void {
  db.prepare('UPDATE objects SET load_refused = ? WHERE id = ?').run(refused, objectId);
}

/**
 * Lines the database refused in the latest load of each object kept under `localDir` (by any
 * target whose runs use it): what its load-refused/ files hold.
 */
export function countLoadRefused(db: Db, localDir: string): number {
  const row = db
    .prepare('SELECT COALESCE(SUM(load_refused), 0) AS n FROM objects WHERE target IN (SELECT target FROM runs WHERE local_dir = ?)')
    .get(localDir) as { n: number };
  return row.n;
}
