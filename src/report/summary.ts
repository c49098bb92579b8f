/**
 * One run's summary (what became of each object, line totals, rejects by reason, durations,
 * throughput, the gate's verdict), computed in one place from the run's rows so that `cleaner
 * status` and the run report print the same figures for the same run.
 */
import type { RunObjectFigures, RunRow } from '../state/queries.js';
import type { GateVerdict } from '../stages/gate.js';

/** What became of an object in a run. */
export type Verdict = 'done' | 'skipped' | 'failed' | 'gone' | 'pending';

/** Object counts by verdict, and the line and byte totals of the objects the run processed. */
export interface Totals {
  objects: number;
  /** Objects whose output is complete for this run, including those skipped as unchanged. */
  objects_done: number;
  objects_skipped: number;
  objects_failed: number;
  objects_gone: number;
  objects_pending: number;
  objects_quarantined: number;
  /** Listed but left out by the run's selection (not in `objects`): by an --include/--exclude filter, and as markers. */
  objects_excluded: number;
  objects_markers: number;
  /** Listed but belonging to other shards (--shard I/N). */
  objects_other_shards: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  bytes: number;
}

export interface RunSummary {
  totals: Totals;
  stages: { listed: number; downloaded: number; cleaned: number; failed: number };
  rejected_by_reason: Record<string, number>;
  /** Rejected over non-blank lines. */
  error_rate: number;
  /** The first FAILED_LISTED failed objects (totals.objects_failed counts them all; the state holds each). */
  failed_objects: Array<{ key: string; error: string | null }>;
  /** Wall clock from start to finish (to now while running); download and clean summed over objects. */
  durations_s: { elapsed: number; download: number; clean: number };
  throughput: { mb_per_s: number; lines_per_s: number };
  gate: GateVerdict | null;
}

/** Failed objects a summary names: a run where everything failed must not hold a row per object. */
export const FAILED_LISTED = 1000;

/** Object states at which the object's input is fully on disk. */
const DOWNLOADED = new Set(['downloaded', 'cleaning', 'publishing', 'done']);

/** What became of object `o` in its run. */
export function verdict(o: Pick<RunObjectFigures, 'action' | 'outcome'>): Verdict {
  if (o.outcome === 'failed') return 'failed'; // including those skipped because they failed before
  if (o.outcome === 'gone') return 'gone';
  if (o.action === 'skip') return 'skipped';
  return o.outcome === 'done' ? 'done' : 'pending';
}

/** The summary of a run with no objects (and the starting point of every other). */
export function emptySummary(): RunSummary {
  return {
    totals: { objects: 0, objects_done: 0, objects_skipped: 0, objects_failed: 0, objects_gone: 0, objects_pending: 0, objects_quarantined: 0, objects_excluded: 0, objects_markers: 0, objects_other_shards: 0, lines: 0, valid: 0, rejected: 0, blank: 0, bytes: 0 },
    stages: { listed: 0, downloaded: 0, cleaned: 0, failed: 0 },
    rejected_by_reason: {},
    error_rate: 0,
    failed_objects: [],
    durations_s: { elapsed: 0, download: 0, clean: 0 },
    throughput: { mb_per_s: 0, lines_per_s: 0 },
    gate: null,
  };
}

/**
 * Summarizes `run` from its objects' rows, read once in order (a stream of pages, never held).
 * `skippedUnchanged` counts objects skipped as unchanged that `rows` leaves out (they add nothing
 * but their count). `now` ends the elapsed time of a run still going.
 *
 * Throughput is the rate at which this run finished cleaning input: the bytes (and lines) of the
 * objects it cleaned to the end, over the run's wall-clock time. Objects skipped as unchanged cost
 * no work; failed, gone and still pending objects delivered no output, and counting their whole size
 * would credit the run with work it did not finish. (Until this summary, `status` used this rule and
 * the report counted every processed object, so the two disagreed whenever an object failed.)
 */
export function summarize(run: RunRow, rows: Iterable<RunObjectFigures>, now = Date.now(), skippedUnchanged = 0): RunSummary {
  const s = emptySummary();
  const t = s.totals;
  t.objects = t.objects_skipped = t.objects_done = s.stages.listed = skippedUnchanged;
  t.objects_excluded = run.excluded ?? 0;
  t.objects_markers = run.markers ?? 0;
  t.objects_other_shards = run.other_shards ?? 0;
  let cleanedBytes = 0;
  let cleanedLines = 0;
  let downloadMs = 0;
  let cleanMs = 0;
  for (const o of rows) {
    const v = verdict(o);
    t.objects++;
    s.stages.listed++;
    if (o.quarantined) t.objects_quarantined++;
    if (v === 'failed') {
      t.objects_failed++;
      s.stages.failed++;
      if (s.failed_objects.length < FAILED_LISTED) s.failed_objects.push({ key: o.key, error: o.error });
    } else if (v === 'gone') t.objects_gone++;
    else if (v === 'skipped') {
      t.objects_skipped++;
      t.objects_done++;
    } else if (v === 'done') {
      t.objects_done++;
      s.stages.cleaned++;
      s.stages.downloaded++;
      cleanedBytes += o.bytes;
      cleanedLines += o.lines;
    } else {
      t.objects_pending++;
      if (DOWNLOADED.has(o.state)) s.stages.downloaded++;
    }
    // A skipped object's figures are those of the run that cleaned it, not this one's.
    if (o.action === 'skip') continue;
    t.lines += o.lines;
    t.valid += o.valid;
    t.rejected += o.rejected;
    t.blank += o.blank;
    t.bytes += o.bytes;
    downloadMs += o.download_ms;
    cleanMs += o.clean_ms;
    for (const [k, n] of Object.entries(JSON.parse(o.by_reason) as Record<string, number>)) s.rejected_by_reason[k] = (s.rejected_by_reason[k] ?? 0) + n;
  }
  s.error_rate = t.valid + t.rejected > 0 ? t.rejected / (t.valid + t.rejected) : 0;
  const end = run.finished_at ? Date.parse(run.finished_at) : now;
  const elapsed = Math.max(0, (end - Date.parse(run.started_at)) / 1000);
  s.durations_s = { elapsed: round(elapsed), download: round(downloadMs / 1000), clean: round(cleanMs / 1000) };
  s.throughput = elapsed > 0 ? { mb_per_s: round(cleanedBytes / 1e6 / elapsed), lines_per_s: Math.round(cleanedLines / elapsed) } : { mb_per_s: 0, lines_per_s: 0 };
  s.gate = run.gate ? (JSON.parse(run.gate) as GateVerdict) : null;
  return s;
}

/** Rounds to a thousandth: a millisecond, a kB/s. */
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
