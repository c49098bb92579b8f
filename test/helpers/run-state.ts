/**
 * Builds a run in a real SQLite state through the state module's own transitions (listed →
 * downloading → downloaded → cleaning → publishing → done, or failed, gone, or left pending), so unit
 * tests of what reads a run (the report, the gate) see rows exactly as a real run leaves them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openState, type Db } from '../../src/state/db.js';
import {
  commitCheckpoint, createRun, finishDownload, finishRun, getRun, markDone, markFailed, markGone, markPublishing,
  recordListed, startClean, startDownload, type Checkpoint, type RuleFigures, type RunRow,
} from '../../src/state/queries.js';

const SCHEMA_HASH = 'test-rules';

/** A fresh state file and local dir in a temporary folder; `close()` removes both. */
export function tempState(name: string): { db: Db; dir: string; localDir: string; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), `cleaner-${name}-`));
  const db = openState(join(dir, 'state.db'));
  return {
    db,
    dir,
    localDir: join(dir, 'work'),
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a run over a local source `src` writing under `localDir`. */
export function startRun(db: Db, localDir: string, src = '/data/events'): RunRow {
  const id = createRun(db, {
    target: `local:${src}`, kind: 'local', source: src, bucket: null, prefix: null, endpoint: null, region: null,
    localDir, schemaOrigin: 'default', schemaText: '{}', schemaHash: SCHEMA_HASH, options: {},
  });
  return getRun(db, id)!;
}

export interface ObjectSpec {
  key: string;
  /** Input size in bytes (what the listing reported). */
  size: number;
  valid?: number;
  rejected?: number;
  blank?: number;
  byReason?: Record<string, number>;
  byRule?: RuleFigures;
  downloadMs?: number;
  cleanMs?: number;
  /** How the object ends in this run: cleaned, failed, deleted from the source, or still cleaning. */
  end?: 'done' | 'quarantined' | 'failed' | 'gone' | 'pending';
  /** With end done: write its output file under output/, as publishing would. */
  output?: string;
}

/**
 * Lists `spec` in `run` and takes it as far as `spec.end`; returns its object id. An object the run
 * skips (same ETag, already done under the same rules) stays as listed: pass `etag` to match.
 */
export function addObject(db: Db, run: RunRow, spec: ObjectSpec, etag = `"${spec.key}"`): number {
  const reason = recordListed(db, run.id, run.target, SCHEMA_HASH, { key: spec.key, relPath: spec.key, etag, size: spec.size, gz: false }, 'listed', () => true);
  const id = (db.prepare('SELECT id FROM objects WHERE target = ? AND key = ?').get(run.target, spec.key) as { id: number }).id;
  if (reason === 'unchanged' || reason === 'failed_before') return id;
  const end = spec.end ?? 'done';
  if (end === 'gone') {
    markGone(db, run.id, id);
    return id;
  }
  startDownload(db, id);
  finishDownload(db, id, spec.size, spec.downloadMs ?? 0);
  startClean(db, id, SCHEMA_HASH);
  const valid = spec.valid ?? 0;
  const rejected = spec.rejected ?? 0;
  const blank = spec.blank ?? 0;
  const cp: Checkpoint = {
    offset: spec.size, outLen: 0, errLen: 0, lines: valid + rejected + blank, valid, rejected, blank,
    byReason: spec.byReason ?? (rejected ? { schema: rejected } : {}), byRule: spec.byRule ?? {},
  };
  if (end === 'pending') {
    commitCheckpoint(db, id, cp, spec.cleanMs ?? 0);
    return id;
  }
  if (end === 'failed') {
    commitCheckpoint(db, id, cp, spec.cleanMs ?? 0);
    markFailed(db, run.id, id, 'corrupt gzip');
    return id;
  }
  markPublishing(db, id, cp, spec.cleanMs ?? 0);
  if (spec.output !== undefined) {
    const path = join(run.local_dir, end === 'quarantined' ? 'quarantine' : 'output', spec.key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, spec.output);
  }
  markDone(db, run.id, id, end === 'quarantined');
  return id;
}

/**
 * Ends the run and pins its wall clock to `elapsedS` seconds, so figures per second are exact.
 * (The one write here outside the state module: no real run can choose its own start time.)
 */
export function endRun(db: Db, run: RunRow, elapsedS: number, exitCode = 0): RunRow {
  finishRun(db, run.id, 'done', exitCode, null);
  const started = '2026-11-05T10:00:00.000Z';
  db.prepare('UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?').run(started, new Date(Date.parse(started) + elapsedS * 1000).toISOString(), run.id);
  return getRun(db, run.id)!;
}
