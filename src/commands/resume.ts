/** `cleaner resume`: finishes the newest unfinished run with the parameters stored with it. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { acquireLock, openState, releaseLock } from '../state/db.js';
import { getRun, latestUnfinishedRun, reopenRun } from '../state/queries.js';
import type { Logger } from '../log.js';
import type { AlertSettings } from '../alerts/settings.js';
import { driveRun, type RunOutcome } from './drive.js';

/** Resumes run `runId` (default: the newest unfinished one); `undefined` when there is nothing to do. */
export async function resumeCommand(opts: { state: string; runId?: number; alerts?: AlertSettings; load?: string }, log: Logger): Promise<RunOutcome | undefined> {
  const statePath = resolve(opts.state);
  if (!existsSync(statePath)) throw new UsageError(`no state at ${statePath}: nothing to resume (start with cleaner run, or pass --state)`);
  const db = openState(statePath);
  try {
    acquireLock(db, statePath, 'resume');
    try {
      const run = opts.runId !== undefined ? getRun(db, opts.runId) : latestUnfinishedRun(db);
      if (!run) {
        if (opts.runId !== undefined) throw new UsageError(`no run ${opts.runId} in ${statePath}`);
        const last = getRun(db);
        log.info(last ? `nothing to resume: run ${last.id} already ${last.state}` : 'nothing to resume: no runs yet');
        return undefined;
      }
      if (run.state === 'done') {
        log.info(`nothing to resume: run ${run.id} already done`);
        return undefined;
      }
      reopenRun(db, run.id);
      log.info(`resuming run ${run.id}: ${run.source} -> ${run.local_dir}`);
      return await driveRun(db, statePath, getRun(db, run.id)!, log, opts.alerts, opts.load);
    } finally {
      releaseLock(db);
    }
  } finally {
    db.close();
  }
}
