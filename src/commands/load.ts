/** `cleaner load`: loads what finished runs published, exactly once, without running anything else. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { acquireLock, openState, releaseLock } from '../state/db.js';
import { getRun, latestDoneRun } from '../state/queries.js';
import { parseRunOptions } from '../settings.js';
import type { Logger } from '../log.js';
import { loadPublished, type LoadFigures } from '../stages/load.js';

export interface LoadOptions {
  state: string;
  /** The run whose target and rules to load (default: the newest done run). */
  runId?: number;
  /** --load as given (else the run's stored one, without a password). */
  load?: string;
  table: string;
  loadRejects: boolean;
}

/** Loads every published object of the run's target that the database's ledger does not hold. */
export async function loadCommand(opts: LoadOptions, log: Logger): Promise<LoadFigures> {
  const statePath = resolve(opts.state);
  if (!existsSync(statePath)) throw new UsageError(`no state at ${statePath}: nothing to load (start with cleaner run, or pass --state)`);
  const db = openState(statePath);
  try {
    acquireLock(db, statePath, 'load');
    try {
      const run = opts.runId !== undefined ? getRun(db, opts.runId) : latestDoneRun(db);
      if (!run) throw new UsageError(opts.runId !== undefined ? `no run ${opts.runId} in ${statePath}` : `no finished run in ${statePath}: nothing to load`);
      const url = opts.load ?? parseRunOptions(run.options).load;
      if (!url) throw new UsageError('pass --load postgres://USER@HOST/DB or duckdb:PATH (or set CLEANER_LOAD)');
      return await loadPublished(db, run, { url, table: opts.table, loadRejects: opts.loadRejects }, log);
    } finally {
      releaseLock(db);
    }
  } finally {
    db.close();
  }
}
