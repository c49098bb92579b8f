/**
 * Tells the outside how a run ended: the metrics file, the Pushgateway, the webhooks. Nothing
 * here can change the run's exit code or its outputs: every failure is logged and swallowed.
 */
import { VERSION } from '../version.js';
import type { Db } from '../state/db.js';
import { getRun, lastSuccessfulRun } from '../state/queries.js';
import { buildReport, type RunReport } from '../report/build.js';
import type { Logger } from '../log.js';
import { parseRunOptions, type Settings } from '../settings.js';
import { exposition, runMetrics, type RunFigures } from './metrics.js';
import { writeMetricsFile } from './metrics-file.js';
import { pushMetrics } from './pushgateway.js';
import { sendNotifications, shouldNotify, type NotifyOn, type RunNews } from './notify.js';
import { DELIVERY, safeUrl, type Delivery } from './http.js';
import { alertsWanted, type AlertSettings } from './settings.js';

/** Writes, pushes and notifies for the finished (or failed) run `runId`; never throws. */
export async function announceRun(db: Db, runId: number, settings: AlertSettings | undefined, log: Logger, reportPath: string | null, limits: Delivery = DELIVERY): Promise<void> {
  if (!alertsWanted(settings)) return;
  let report: RunReport | undefined;
  try {
    report = buildReport(db, runId, { objects: false });
  } catch (err) {
    log.warn('alerts: cannot read the run from the state', { error: (err as Error).message });
  }
  if (!report) return;
  const last = lastSuccessfulRun(db, report.run.source);
  const figures = figuresOf(report, last ? Date.parse(last) / 1000 : undefined);
  const families = runMetrics(figures);
  // Shards of one job push side by side, each under its own grouping key.
  const run = getRun(db, runId);
  const shard = run ? parseRunOptions(run.options).shard : undefined;
  const labels: Record<string, string> = shard ? { source: report.run.source, shard } : { source: report.run.source };
  if (settings.metricsFile !== undefined) {
    try {
      writeMetricsFile(settings.metricsFile, exposition(families, labels));
      log.debug('metrics written', { file: settings.metricsFile });
    } catch (err) {
      log.warn('metrics file not written', { file: settings.metricsFile, error: (err as Error).message });
    }
  }
  const deliveries: Promise<void>[] = [];
  if (settings.pushgateway !== undefined) {
    const url = settings.pushgateway;
    deliveries.push(
      pushMetrics(url, labels, exposition(families), limits).then(
        () => log.debug('metrics pushed', { pushgateway: safeUrl(url) }),
        (err: Error) => log.warn('metrics not pushed', { error: err.message }),
      ),
    );
  }
  const news = newsOf(report, reportPath);
  if (settings.notify.length && shouldNotify(settings.notifyOn, news)) {
    deliveries.push(
      sendNotifications(settings.notify, news, limits).then((problems) => {
        for (const p of problems) log.warn('notification not delivered', { error: p });
        if (problems.length < settings.notify.length) log.info(`notified ${settings.notify.length - problems.length} webhook(s): ${news.verdict}`);
      }),
    );
  }
  await Promise.all(deliveries);
}

function figuresOf(r: RunReport, lastSuccessAt: number | undefined): RunFigures {
  const t = r.totals;
  return {
    lines: { valid: t.valid, blank: t.blank, rejectedByReason: r.rejected_by_reason },
    objects: {
      cleaned: t.objects_done - t.objects_skipped - t.objects_quarantined,
      skipped: t.objects_skipped,
      failed: t.objects_failed,
      gone: t.objects_gone,
      quarantined: t.objects_quarantined,
    },
    bytes: t.bytes,
    errorRate: t.error_rate,
    gateBreached: r.gate ? r.gate.breached : undefined,
    durationSeconds: r.durations_s.elapsed,
    stageSeconds: { download: r.durations_s.download, clean: r.durations_s.clean },
    exitCode: r.run.exit_code ?? 1,
    endedAt: Date.parse(r.run.finished_at ?? new Date().toISOString()) / 1000,
    lastSuccessAt,
    version: VERSION,
  };
}

function newsOf(r: RunReport, reportPath: string | null): RunNews {
  const t = r.totals;
  // A run that stopped (failed, or interrupted by a local fault) counts as failed, as do failed objects.
  const failed = r.run.state !== 'done' || t.objects_failed > 0;
  return {
    runId: r.run.id,
    source: r.run.source,
    verdict: r.gate?.breached ? 'breach' : failed ? 'failed' : 'ok',
    failed,
    exitCode: r.run.exit_code ?? 1,
    message: r.run.message ?? '',
    lines: t.lines,
    valid: t.valid,
    rejected: t.rejected,
    blank: t.blank,
    errorRate: t.error_rate,
    objectsFailed: t.objects_failed,
    objectsQuarantined: t.objects_quarantined,
    gateReasons: r.gate?.reasons ?? [],
    topRules: r.rejected_by_rule.slice(0, 5).map((x) => ({ rule: x.rule, count: x.count })),
    report: reportPath,
  };
}
