/**
 * The run report: everything an operator wants to know about one run, as stable JSON. Written to
 * <local-dir>/reports/<run-id>.json at the end of every run, and rendered as HTML by `cleaner report`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../state/db.js';
import { getRun, runObjects, type RuleFigures, type RunRow } from '../state/queries.js';
import type { GateVerdict } from '../stages/gate.js';

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
  totals: { objects: number; objects_done: number; objects_skipped: number; objects_failed: number; objects_gone: number; objects_quarantined: number; lines: number; valid: number; rejected: number; blank: number; bytes: number; error_rate: number };
  rejected_by_reason: Record<string, number>;
  rejected_by_rule: RuleSummary[];
  objects: ObjectFigures[];
  durations_s: { elapsed: number; download: number; clean: number };
  throughput: { mb_per_s: number; lines_per_s: number };
  gate: GateVerdict | null;
}

/** Builds the report of run `runId` (default: the latest). */
export function buildReport(db: Db, runId?: number): RunReport | undefined {
  const run = getRun(db, runId);
  if (!run) return undefined;
  return fromRows(run, runObjects(db, run.id));
}

function fromRows(run: RunRow, rows: ReturnType<typeof runObjects>): RunReport {
  const totals = { objects: 0, objects_done: 0, objects_skipped: 0, objects_failed: 0, objects_gone: 0, objects_quarantined: 0, lines: 0, valid: 0, rejected: 0, blank: 0, bytes: 0, error_rate: 0 };
  const byReason: Record<string, number> = {};
  const rules = new Map<string, RuleSummary>();
  const objects: ObjectFigures[] = [];
  let downloadMs = 0;
  let cleanMs = 0;
  for (const o of rows) {
    totals.objects++;
    const processed = o.action === 'process';
    if (o.outcome === 'failed') totals.objects_failed++;
    else if (o.outcome === 'gone') totals.objects_gone++;
    else if (!processed) {
      totals.objects_skipped++;
      totals.objects_done++;
    } else if (o.outcome === 'done') totals.objects_done++;
    if (o.quarantined) totals.objects_quarantined++;
    const reasons = processed ? (JSON.parse(o.by_reason) as Record<string, number>) : {};
    if (processed) {
      totals.lines += o.lines;
      totals.valid += o.valid;
      totals.rejected += o.rejected;
      totals.blank += o.blank;
      totals.bytes += o.bytes;
      downloadMs += o.download_ms;
      cleanMs += o.clean_ms;
      for (const [k, v] of Object.entries(reasons)) byReason[k] = (byReason[k] ?? 0) + v;
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
      rejected_by_reason: reasons,
    });
  }
  totals.error_rate = totals.valid + totals.rejected > 0 ? totals.rejected / (totals.valid + totals.rejected) : 0;
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  const elapsed = Math.max(0.001, (end - Date.parse(run.started_at)) / 1000);
  return {
    report_version: 1,
    generated_at: new Date().toISOString(),
    run: { id: run.id, state: run.state, source: run.source, local_dir: run.local_dir, rules: run.schema_origin, started_at: run.started_at, finished_at: run.finished_at, exit_code: run.exit_code, message: run.message },
    totals,
    rejected_by_reason: byReason,
    rejected_by_rule: [...rules.values()].sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1)).slice(0, TOP_RULES),
    objects,
    durations_s: { elapsed: round(elapsed), download: round(downloadMs / 1000), clean: round(cleanMs / 1000) },
    throughput: { mb_per_s: round(totals.bytes / 1e6 / elapsed), lines_per_s: Math.round(totals.lines / elapsed) },
    gate: run.gate ? (JSON.parse(run.gate) as GateVerdict) : null,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
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
