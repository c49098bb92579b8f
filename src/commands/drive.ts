/**
 * Drives a run (new or resumed) to its end and records how it ended. Shared by `run` and `resume`.
 */
import { ExitCode, CleanerError, LocalIoError } from '../errors.js';
import type { Db } from '../state/db.js';
import { releaseLock } from '../state/db.js';
import { MAX_ATTEMPTS, runProgress, countFailed, finishRun, type RunRow } from '../state/queries.js';
import { executeRun, type PipelineResult } from '../stages/pipeline.js';
import { parseRunOptions } from '../settings.js';
import { applyGate, type GateVerdict } from '../stages/gate.js';
import type { Logger } from '../log.js';
import { alertsWanted, type AlertSettings } from '../alerts/settings.js';
import { startProgress } from '../progress.js';
import type { Delivery } from '../stages/deliver.js';
import { whileDriving } from './interrupt.js';
import { sizeHeapsFor, sizeHeapsForMemory } from '../heap-sizing.js';
import type { CleanPool } from '../stages/clean-pool.js';

/** What a finished run returns to the CLI. */
export interface RunOutcome {
  runId: number;
  exitCode: number;
  message: string;
  result: PipelineResult;
  gate?: GateVerdict;
}

/** Records that the run `runId` was interrupted by a signal, and releases the lock. */
function recordInterrupt(db: Db, runId: number, signal: string): void {
  try {
    finishRun(db, runId, 'interrupted', ExitCode.interrupted, `interrupted by ${signal}; continue with cleaner resume`);
    releaseLock(db);
  } catch {
    // The process is going down; resume recovers from the checkpoints either way.
  }
}

/**
 * Runs the pipeline for `run` and marks the run done, failed or interrupted. `loadUrl` is --load
 * as given now, password and all; without it the run's stored one (which has no password) is used.
 * `warmed`: a clean pool already compiling the run's rules (warm-pool.ts), closed by its owner.
 */
export async function driveRun(db: Db, statePath: string, run: RunRow, log: Logger, alerts?: AlertSettings, loadUrl?: string, warmed?: CleanPool): Promise<RunOutcome> {
  whileDriving((signal) => recordInterrupt(db, run.id, signal));
  // Imported here: a run on local files never loads the AWS SDK.
  const client = run.kind === 's3' ? (await import('../s3/client.js')).makeClient({ endpoint: run.endpoint, region: run.region }) : undefined;
  const started = Date.now();
  let downloaded = 0;
  let listed = 0;
  const stopProgress = startProgress(
    { read: () => runProgress(db, run.id), downloadedBytes: () => downloaded, listed: () => listed, kind: run.kind },
    log,
    { quiet: log.level === 'warn' || log.level === 'error' },
  );
  let delivery: Delivery | undefined;
  try {
    // Checked before anything is downloaded: an unwritable destination stops the run at once (exit 3).
    delivery = parseRunOptions(run.options).dest ? await (await import('../stages/deliver.js')).Delivery.open(db, run, log) : undefined;
    // Heaps sized for memory where this thread's would grow (heap-sizing.ts): in S3 runs, which list
    // and clean small objects here, and over many objects, known once they are listed.
    if (run.kind === 's3') sizeHeapsForMemory();
    else if (run.listed) sizeHeapsFor(runProgress(db, run.id).objects);
    const result = await executeRun(db, statePath, run, client, {
      downloadedBytes: (n) => (downloaded += n),
      listed: (s) => {
        listed = s.listed;
        sizeHeapsFor(s.listed);
        log.debug('listing', { objects: s.listed });
      },
      objectDownloaded: (row) => log.debug('downloaded', { object: row.key, bytes: row.size }),
      objectCleaned: (key, r) => {
        log.debug('cleaned', { object: key, lines: r.lines, valid: r.valid, rejected: r.rejected, blank: r.blank });
        if (r.outcome === 'done') delivery?.cleaned(key);
      },
      listingDone: delivery && (() => delivery!.reconcile()),
      objectFailed: (key, error) => log.warn('object failed', { object: key, error }),
      objectGone: (key) => log.warn('object deleted from the source after listing', { object: key }),
    }, warmed);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    let exitCode: number = ExitCode.ok;
    let message = `run ${run.id} finished in ${secs} s`;
    stopProgress();
    const options = parseRunOptions(run.options);
    const gate = applyGate(db, run, options);
    await delivery?.finish();
    // After the gate, so quarantined output never reaches the database; a failed load fails the run, and resume loads the rest.
    if (loadUrl ?? options.load) await (await import('../stages/load.js')).loadPublished(db, run, { url: (loadUrl ?? options.load)!, table: options.table, loadRejects: options.loadRejects }, log);
    const failed = countFailed(db, run.id);
    if (failed > 0) {
      exitCode = ExitCode.objectsFailed;
      const before = failed - result.failed;
      message = `run ${run.id} finished in ${secs} s with ${failed} failed object(s)${before > 0 ? ` (${before} left failed after ${MAX_ATTEMPTS} attempts in earlier runs)` : ''}: see cleaner status`;
    }
    if (gate?.breached) {
      exitCode = ExitCode.gateBreached;
      for (const q of gate.quarantined) log.warn('quarantined', { object: q.key, error_rate: Number(q.error_rate.toFixed(4)), rejected: q.rejected });
      message = `run ${run.id} breached the quality gate: ${gate.reasons.join('; ')}; ${gate.quarantined_total ?? gate.quarantined.length} object(s) moved to ${run.local_dir}/quarantine/${failed > 0 ? `; ${failed} object(s) failed` : ''}`;
    }
    finishRun(db, run.id, 'done', exitCode, message);
    const reportPath = (await import('../report/build.js')).writeRunReport(db, run.id);
    if (reportPath) log.info(`report: ${reportPath}`);
    if (delivery) {
      const manifest = await delivery.publish(reportPath);
      log.info(`delivered to ${delivery.dest.uri}: manifest ${delivery.manifestKey()} (${manifest.entries.length} file(s), ${manifest.meta.record_count} rows)`);
    }
    await announce(db, run.id, alerts, log, reportPath);
    return { runId: run.id, exitCode, message, result, gate };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // Local trouble can be fixed and resumed; anything else ends the run.
    finishRun(db, run.id, err instanceof LocalIoError ? 'interrupted' : 'failed', err instanceof CleanerError ? err.exitCode : ExitCode.internal, msg);
    await announce(db, run.id, alerts, log, null);
    throw err;
  } finally {
    stopProgress();
    client?.destroy();
    delivery?.close();
    whileDriving(undefined);
  }
}

/**
 * after-run.ts's announceRun, loaded only when an alert destination is set: what it brings (the
 * report, metrics, Pushgateway and webhook modules) cost a run's main thread about 20 ms of loading
 * before it could check the rules, which every clean thread waits for.
 */
async function announce(db: Db, runId: number, alerts: AlertSettings | undefined, log: Logger, reportPath: string | null): Promise<void> {
  if (alertsWanted(alerts)) await (await import('../alerts/after-run.js')).announceRun(db, runId, alerts, log, reportPath);
}
