/**
 * The run report: everything an operator wants to know about one run, as stable JSON. Written to
 * <local-dir>/reports/<run-id>.json at the end of every run, and rendered as HTML by `cleaner report`.
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Db } from '../state/db.js';
import { countSkippedUnchanged, eachRunObject, getRun, type RuleFigures, type RunObjectFigures, type RunRow } from '../state/queries.js';
import { summarize, type RunSummary, type Totals } from './summary.js';

/** How many rules the report lists in full, and example lines per rule. */
const TOP_RULES = 25;
const EXAMPLES = 5;

export interface ObjectFigures {
  key: string;
  state: string;
  outcome: string | null;
  action: 'process' | 'skip';
  reason: string;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  error_rate: number;
  bytes: number;
  download_ms: number;
  clean_ms: number;
  quarantined: boolean;
  error: string | null;
  rejected_by_reason: Record<string, number>;
}

export interface RuleSummary {
  /** "<JSON pointer> <keyword>" for schema rules (array indices as *), or a reject reason. */
  rule: string;
  count: number;
  examples: Array<{ key: string; line: number; offset: number }>;
}

/** The stable JSON shape of a run report (documented in README.md). */
export interface RunReport {
  report_version: 1;
  generated_at: string;
  run: { id: number; state: string; source: string; local_dir: string; rules: string; started_at: string; finished_at: string | null; exit_code: number | null; message: string | null };
  /** The run summary's totals (summary.ts), with its error rate. */
  totals: Totals & { error_rate: number };
  rejected_by_reason: RunSummary['rejected_by_reason'];
  rejected_by_rule: RuleSummary[];
  objects: ObjectFigures[];
  durations_s: RunSummary['durations_s'];
  throughput: RunSummary['throughput'];
  gate: RunSummary['gate'];
}

/**
 * Builds the report of run `runId` (default: the latest), its `objects` held in memory: for
 * `cleaner report` and the alerts. `objects: false` leaves them out (the alerts need only figures).
 */
export function buildReport(db: Db, runId?: number, opts: { objects?: boolean } = {}): RunReport | undefined {
  const run = getRun(db, runId);
  if (!run) return undefined;
  const head = reportHead(db, run);
  return { ...head, objects: opts.objects === false ? [] : [...reportObjects(db, run.id)] };
}

/** The report without its objects, from one pass over the run's rows in pages. */
function reportHead(db: Db, run: RunRow): Omit<RunReport, 'objects'> {
  const rules = new Map<string, RuleSummary>();
  // The rules are gathered in the same pass the summary makes.
  function* withRules(rows: Iterable<RunObjectFigures>): Generator<RunObjectFigures> {
    for (const o of rows) {
      if (o.action === 'process') {
        for (const [rule, f] of Object.entries(JSON.parse(o.by_rule) as RuleFigures)) {
          const r = rules.get(rule) ?? { rule, count: 0, examples: [] };
          r.count += f.count;
          for (const e of f.examples) if (r.examples.length < EXAMPLES) r.examples.push({ key: o.key, line: e.line, offset: e.offset });
          rules.set(rule, r);
        }
      }
      yield o;
    }
  }
  const summary = summarize(run, withRules(eachRunObject(db, run.id, 'detailed')), Date.now(), countSkippedUnchanged(db, run.id));
  return {
    report_version: 1,
    generated_at: new Date().toISOString(),
    run: { id: run.id, state: run.state, source: run.source, local_dir: run.local_dir, rules: run.schema_origin, started_at: run.started_at, finished_at: run.finished_at, exit_code: run.exit_code, message: run.message },
    totals: { ...summary.totals, error_rate: summary.error_rate },
    rejected_by_reason: summary.rejected_by_reason,
    rejected_by_rule: [...rules.values()].sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1)).slice(0, TOP_RULES),
    durations_s: summary.durations_s,
    throughput: summary.throughput,
    gate: summary.gate,
  };
}

/**
 * The report's objects: every object the run processed, and those it skipped because they failed
 * before. Objects skipped as unchanged are only counted (totals.objects_skipped): a run over a
 * lake of a million objects that changes nothing would otherwise list a million.
 */
function* reportObjects(db: Db, runId: number): Generator<ObjectFigures> {
  for (const o of eachRunObject(db, runId, 'detailed')) yield objectFigures(o);
}

/** An object's figures for its run as reports and `status --objects` show them (a skipped object's are its earlier run's: zero here). */
export function objectFigures(o: RunObjectFigures): ObjectFigures {
  const processed = o.action === 'process';
  const nonBlank = o.valid + o.rejected;
  return {
    key: o.key,
    state: o.state,
    outcome: o.outcome,
    action: o.action,
    reason: o.reason,
    lines: processed ? o.lines : 0,
    valid: processed ? o.valid : 0,
    rejected: processed ? o.rejected : 0,
    blank: processed ? o.blank : 0,
    error_rate: processed && nonBlank > 0 ? o.rejected / nonBlank : 0,
    bytes: o.bytes,
    download_ms: processed ? o.download_ms : 0,
    clean_ms: processed ? o.clean_ms : 0,
    quarantined: o.quarantined === 1,
    error: o.error,
    rejected_by_reason: processed ? (JSON.parse(o.by_reason) as Record<string, number>) : {},
  };
}

/**
 * The report of `run` as JSON text, in chunks of about 64 kB: the head, then "objects" last, read
 * from the state a page at a time, so memory stays flat however many objects the run processed.
 * `pretty` lays each object out as JSON.stringify(report, null, 2) does; else one object a line.
 */
export function* reportJson(db: Db, run: RunRow, pretty: boolean): Generator<string> {
  const text = JSON.stringify(reportHead(db, run), null, 2);
  let pending = text.slice(0, text.length - 2) + ',\n  "objects": [';
  let first = true;
  for (const o of reportObjects(db, run.id)) {
    pending += (first ? '\n    ' : ',\n    ') + (pretty ? JSON.stringify(o, null, 2).replaceAll('\n', '\n    ') : JSON.stringify(o));
    first = false;
    if (pending.length >= 1 << 16) {
      yield pending;
      pending = '';
    }
  }
  yield pending + (first ? ']\n}\n' : '\n  ]\n}\n');
}

/** Where run `runId`'s report lives: <local-dir>/reports/<run-id>.json (written here, dropped by prune). */
export function runReportPath(localDir: string, runId: number): string {
  return join(localDir, 'reports', `${runId}.json`);
}

/**
 * Writes the report of run `runId` to <local-dir>/reports/<run-id>.json (atomically) and returns
 * its path, or null when there is no such run. Objects are one line each.
 */
export function writeRunReport(db: Db, runId: number): string | null {
  const run = getRun(db, runId);
  if (!run) return null;
  const path = runReportPath(run.local_dir, run.id);
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path + '.tmp', 'w');
  try {
    for (const chunk of reportJson(db, run, false)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  renameSync(path + '.tmp', path);
  return path;
}

/** Objects the HTML page lists: the worst first; 2,000 rows keep a page of a million-object run at about 1 MB. */
export const PAGE_OBJECTS = 2000;

/**
 * The report for the HTML page: every figure, but only the `limit` worst objects (failed or gone
 * first, then quarantined, then by error rate and rejects), picked in one pass over the run's
 * rows holding at most twice `limit`. `objectsInRun` counts the objects the full report lists.
 * A run with no more than `limit` objects keeps all of them, in the full report's order.
 */
export function buildPageReport(db: Db, runId?: number, limit = PAGE_OBJECTS): { report: RunReport; objectsInRun: number } | undefined {
  const run = getRun(db, runId);
  if (!run) return undefined;
  const head = reportHead(db, run);
  let kept: ObjectFigures[] = [];
  let objectsInRun = 0;
  // The best of the objects kept once they were cut to `limit`: anything no worse cannot make the page.
  let cut: ObjectFigures | undefined;
  for (const o of reportObjects(db, run.id)) {
    objectsInRun++;
    // Dropped at once, an object dies young: kept objects that are cut later would pile up in V8's
    // old space until a full collection (a run of 200,000 peaked 45 MB higher than one of 100,000).
    if (cut && worstFirst(o, cut) >= 0) continue;
    kept.push(o);
    if (kept.length >= 2 * limit) {
      kept = kept.sort(worstFirst).slice(0, limit);
      cut = kept[limit - 1];
    }
  }
  if (cut || kept.length > limit) kept = kept.sort(worstFirst).slice(0, limit);
  return { report: { ...head, objects: kept }, objectsInRun };
}

/** How bad an object's outcome is: lower is worse. */
function badness(o: ObjectFigures): number {
  if (o.outcome === 'failed' || o.outcome === 'gone' || (o.error && o.outcome !== 'done')) return 0;
  return o.quarantined ? 1 : o.rejected > 0 ? 2 : 3;
}

function worstFirst(a: ObjectFigures, b: ObjectFigures): number {
  return badness(a) - badness(b) || b.error_rate - a.error_rate || b.rejected - a.rejected || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
