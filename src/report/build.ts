/**
 * The run report: everything an operator wants to know about one run, as stable JSON. Written to
 * <local-dir>/reports/<run-id>.json at the end of every run, and rendered as HTML by `cleaner report`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../state/db.js';
import { getRun, runObjects, type RuleFigures, type RunObjectFigures, type RunRow } from '../state/queries.js';
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

/** Builds the report of run `runId` (default: the latest). */
export function buildReport(db: Db, runId?: number): RunReport | undefined {
  const run = getRun(db, runId);
  if (!run) return undefined;
  return fromRows(run, runObjects(db, run.id));
}

function fromRows(run: RunRow, rows: RunObjectFigures[]): RunReport {
  const summary = summarize(run, rows);
  const rules = new Map<string, RuleSummary>();
  const objects: ObjectFigures[] = [];
  for (const o of rows) {
    const processed = o.action === 'process';
    if (processed) {
      for (const [rule, f] of Object.entries(JSON.parse(o.by_rule) as RuleFigures)) {
        const r = rules.get(rule) ?? { rule, count: 0, examples: [] };
        r.count += f.count;
        for (const e of f.examples) if (r.examples.length < EXAMPLES) r.examples.push({ key: o.key, line: e.line, offset: e.offset });
        rules.set(rule, r);
      }
    }
    const nonBlank = o.valid + o.rejected;
    objects.push({
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
    });
  }
  return {
    report_version: 1,
    generated_at: new Date().toISOString(),
    run: { id: run.id, state: run.state, source: run.source, local_dir: run.local_dir, rules: run.schema_origin, started_at: run.started_at, finished_at: run.finished_at, exit_code: run.exit_code, message: run.message },
    totals: { ...summary.totals, error_rate: summary.error_rate },
    rejected_by_reason: summary.rejected_by_reason,
    rejected_by_rule: [...rules.values()].sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1)).slice(0, TOP_RULES),
    objects,
    durations_s: summary.durations_s,
    throughput: summary.throughput,
    gate: summary.gate,
  };
}

/** Writes the report to <local-dir>/reports/<run-id>.json (atomically) and returns its path. */
export function writeReport(report: RunReport): string {
  const dir = join(report.run.local_dir, 'reports');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.run.id}.json`);
  writeFileSync(path + '.tmp', JSON.stringify(report, null, 2) + '\n');
  renameSync(path + '.tmp', path);
  return path;
}
