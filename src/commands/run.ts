/** `cleaner run`: lists the source, then downloads and cleans whatever is not already done. */
import { UsageError } from '../errors.js';
import { resolve } from 'node:path';
import { runOptionsOf, type Settings } from '../settings.js';
import { resolveRegion } from '../s3/settings.js';
import { acquireLock, openState, releaseLock, type Db } from '../state/db.js';
import { createRun, getRun, recordCheckedRules, supersedeUnfinished } from '../state/queries.js';
import { rulesChecker } from '../validate/schema.js';
import type { Logger } from '../log.js';
import { alertSettingsOf } from '../alerts/settings.js';
import { driveRun, type RunOutcome } from './drive.js';
import { planRun } from './plan.js';
import { formatPrune, parseAge, pruneState } from './prune.js';
import type { CleanPool } from '../stages/clean-pool.js';

/**
 * Starts a new run with `settings`; refuses bad input before anything is written. `warmed`: the
 * pool warm-pool.ts started for this run, if any; closed here however the run ends.
 */
export async function runCommand(settings: Settings, log: Logger, warmed: CleanPool | undefined): Promise<RunOutcome> {
  try {
    return await startRun(settings, log, warmed);
  } finally {
    await warmed?.destroy();
  }
}

async function startRun(settings: Settings, log: Logger, warmed: CleanPool | undefined): Promise<RunOutcome> {
  const { src, rules, localDir, statePath, endpoint, source, target, shard } = planRun(settings, log);
  if (settings.load) (await import('../stages/load.js')).checkLoadUrl(settings.load);
  // The load reads the local output files, which --delete-local removes as soon as they are delivered.
  // DuckDB has one writer: shards running at once would fail on its lock, or worse, wait on it.
  if (settings.load?.startsWith('duckdb:') && shard && shard.count > 1) throw new UsageError(`--load ${settings.load} with --shard ${shard.index}/${shard.count}: DuckDB takes one writer at a time; load into PostgreSQL from shards, or run cleaner load once after the job`);
  if (settings.load && settings.deleteLocal) throw new UsageError('--load and --delete-local: the load reads the local output files that --delete-local removes; drop one of them');
  const pruneMs = settings.pruneOlderThan !== undefined ? parseAge(settings.pruneOlderThan, '--prune-older-than') : undefined;
  const db = openState(statePath);
  try {
    acquireLock(db, statePath, 'run');
    try {
      const runId = createRun(db, {
        target,
        kind: src.kind,
        source,
        bucket: src.kind === 's3' ? src.bucket : null,
        prefix: src.kind === 's3' ? src.prefix : null,
        endpoint,
        region: src.kind === 's3' ? resolveRegion(settings.region) : null,
        localDir,
        schemaOrigin: settings.schema ? resolve(settings.schema) : 'default',
        schemaText: rules.text,
        schemaHash: rules.hash,
        // The shard as resolved (perhaps from the job engine's variables), so resume keeps it.
        options: runOptionsOf({ ...settings, shard: shard ? `${shard.index}/${shard.count}` : undefined }),
      });
      // Checked now (not the built-in rules, which never are): a later run of the same text skips it.
      if (!rules.checkedEarlier && rules.origin !== 'default') recordCheckedRules(db, rules.hash, rulesChecker(), rules.warnings);
      supersedeUnfinished(db, target, runId);
      log.info(`run ${runId}: ${source} -> ${localDir}`, { rules: rules.origin });
      const outcome = await driveRun(db, statePath, getRun(db, runId)!, log, alertSettingsOf(settings), settings.load, warmed);
      if (pruneMs !== undefined) pruneAfterRun(db, pruneMs, log);
      return outcome;
    } finally {
      releaseLock(db);
    }
  } finally {
    db.close();
  }
}

/**
 * --prune-older-than: prunes once the run has ended, however it ended (the run just made is the
 * latest and is never pruned). A failed prune is a warning: the run's outcome stands.
 */
function pruneAfterRun(db: Db, olderThanMs: number, log: Logger): void {
  try {
    log.info(formatPrune(pruneState(db, olderThanMs)).trimEnd());
  } catch (err) {
    log.warn(`prune after the run failed: ${(err as Error).message}; try cleaner prune`);
  }
}
