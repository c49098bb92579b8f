/**
 * `cleaner prune --older-than 90d`: forgets the per-object rows of old runs (and their report
 * files), so years of daily runs over a lake do not grow the state by a row per object per run.
 * What incremental runs need of each object (key, ETag, rules hash, done) is kept.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { acquireLock, openState, releaseLock, type Db } from '../state/db.js';
import { compactDatabase, databaseBytes, prunableRuns, pruneRun } from '../state/queries.js';
import { runReportPath } from '../report/build.js';

/** What a prune removed. */
export interface PruneFigures {
  /** Runs whose per-object rows were dropped (their row too, unless a delivery names it). */
  runs: number[];
  rows: number;
  reportFiles: number;
  reportBytes: number;
  stateBytesBefore: number;
  stateBytesAfter: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** An age such as 90d, 12h or 2w in milliseconds; `what` names the flag in the error. */
export function parseAge(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: expected an age such as 90d, 12h or 2w (units s, m, h, d, w), got ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/**
 * Prunes the runs that finished more than `olderThanMs` before `now` (see prunableRuns for what is
 * never pruned), deletes their reports/<id>.json, then compacts the database. The caller holds the lock.
 */
export function pruneState(db: Db, olderThanMs: number, now = Date.now()): PruneFigures {
  const cutoff = new Date(now - olderThanMs).toISOString();
  const f: PruneFigures = { runs: [], rows: 0, reportFiles: 0, reportBytes: 0, stateBytesBefore: databaseBytes(db), stateBytesAfter: 0 };
  for (const run of prunableRuns(db, cutoff)) {
    f.rows += pruneRun(db, run.id, run.delivered === 1);
    f.runs.push(run.id);
    const report = runReportPath(run.local_dir, run.id);
    if (existsSync(report)) {
      f.reportBytes += statSync(report).size;
      rmSync(report, { force: true });
      f.reportFiles++;
    }
  }
  // VACUUM rewrites the whole file: worth it only when something was freed.
  if (f.runs.length) compactDatabase(db);
  f.stateBytesAfter = databaseBytes(db);
  return f;
}

/** `cleaner prune`: takes the state's lock, prunes, and returns what it removed. */
export function pruneCommand(opts: { state: string; olderThan: string | undefined }): PruneFigures {
  if (opts.olderThan === undefined) throw new UsageError('prune: how old? pass --older-than 90d (or set CLEANER_PRUNE_OLDER_THAN)');
  const ms = parseAge(opts.olderThan, '--older-than');
  const statePath = resolve(opts.state);
  if (!existsSync(statePath)) throw new UsageError(`no state at ${statePath}: nothing to prune (pass --state)`);
  const db = openState(statePath);
  try {
    acquireLock(db, statePath, 'prune');
    try {
      return pruneState(db, ms);
    } finally {
      releaseLock(db);
    }
  } finally {
    db.close();
  }
}

/** One line saying what a prune removed. */
export function formatPrune(f: PruneFigures): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;
  if (!f.runs.length) return `prune: nothing to prune; state ${mb(f.stateBytesAfter)}\n`;
  const ids = f.runs.length > 10 ? `${f.runs.slice(0, 10).join(', ')}, …` : f.runs.join(', ');
  return (
    `prune: ${n(f.runs.length)} run(s) pruned (${ids}): ${n(f.rows)} row(s), ${n(f.reportFiles)} report file(s) (${mb(f.reportBytes)}); ` +
    `state ${mb(f.stateBytesBefore)} -> ${mb(f.stateBytesAfter)} after VACUUM (${mb(f.stateBytesBefore - f.stateBytesAfter + f.reportBytes)} freed in all)\n`
  );
}
