/** `cleaner status`: where every run and object stands, as text or stable JSON. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { openState } from '../state/db.js';
import { countLoadRefused, countSkippedUnchanged, eachRunObject, getRun, listRuns, runObjectsByKey, type RunRow } from '../state/queries.js';
import { objectFigures, type ObjectFigures } from '../report/build.js';
import { emptySummary, summarize, type RunSummary, type Totals } from '../report/summary.js';

/** The stable JSON shape of `cleaner status --json` (documented in README.md). */
export interface StatusReport {
  state_path: string;
  run: {
    id: number;
    state: string;
    source: string;
    local_dir: string;
    schema: string;
    started_at: string;
    finished_at: string | null;
    elapsed_s: number;
    exit_code: number | null;
    message: string | null;
  } | null;
  /** The run summary's figures (report/summary.ts), the same the run report shows. */
  totals: Totals;
  stages: RunSummary['stages'];
  rejected_by_reason: RunSummary['rejected_by_reason'];
  error_rate: number;
  throughput_mb_s: number;
  failed_objects: RunSummary['failed_objects'];
  runs: Array<{ id: number; state: string; source: string; started_at: string; exit_code: number | null }>;
  /** The quality gate's settings and verdict, or null when the run had no gate. */
  gate: RunSummary['gate'];
  /** Valid lines the database refused (reason load_refused) in the latest load of each object of the run's local dir. */
  load_refused: number;
}

/** Builds the status of run `runId` (default: the latest) from the state at `statePath`. */
export function statusReport(statePath: string, runId?: number): StatusReport {
  const path = resolve(statePath);
  if (!existsSync(path)) return fromSummary(path, null, emptySummary(), []);
  const db = openState(path, { readonly: true });
  try {
    const run = getRun(db, runId);
    if (!run) {
      if (runId !== undefined) throw new UsageError(`no run ${runId} in ${path}`);
      return fromSummary(path, null, emptySummary(), []);
    }
    const s = summarize(run, eachRunObject(db, run.id, 'detailed'), Date.now(), countSkippedUnchanged(db, run.id));
    return fromSummary(path, run, s, listRuns(db), countLoadRefused(db, run.local_dir));
  } finally {
    db.close();
  }
}

/** One page of `cleaner status --objects`: a run's objects in key order, and where the next page starts. */
export interface ObjectsPage {
  state_path: string;
  run: number | null;
  objects: ObjectFigures[];
  /** Pass as --after for the next page; null on the last page. */
  next: string | null;
}

/** Most objects one page holds: a page is held in memory whole. */
export const MAX_PAGE = 10_000;

/**
 * Up to `limit` objects of run `runId` (default: the latest) with keys after `after`, every
 * object the run listed (those skipped as unchanged too), read straight from the state.
 */
export function statusObjects(statePath: string, opts: { runId?: number; after?: string; limit?: number } = {}): ObjectsPage {
  const path = resolve(statePath);
  const limit = opts.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new UsageError(`--limit: expected a whole number from 1 to ${MAX_PAGE}, got ${opts.limit}`);
  if (!existsSync(path)) return { state_path: path, run: null, objects: [], next: null };
  const db = openState(path, { readonly: true });
  try {
    const run = getRun(db, opts.runId);
    if (!run) {
      if (opts.runId !== undefined) throw new UsageError(`no run ${opts.runId} in ${path}`);
      return { state_path: path, run: null, objects: [], next: null };
    }
    // One row more than asked tells whether another page follows.
    const rows = runObjectsByKey(db, run.id, run.target, opts.after ?? '', limit + 1);
    const objects = rows.slice(0, limit).map(objectFigures);
    return { state_path: path, run: run.id, objects, next: rows.length > limit ? objects[objects.length - 1].key : null };
  } finally {
    db.close();
  }
}

/** A page of objects as text: one line each, then how to get the next page. */
export function formatObjects(p: ObjectsPage): string {
  if (p.run === null) return `no runs yet in ${p.state_path}\n`;
  const lines = p.objects.map((o) => `${(o.outcome ?? o.state).padEnd(8)}  ${String(o.lines).padStart(9)} lines  ${String(o.rejected).padStart(9)} rejected  ${o.key}`);
  if (p.next !== null) lines.push(`more: cleaner status --objects --run ${p.run} --after ${JSON.stringify(p.next)}`);
  return lines.join('\n') + '\n';
}

function fromSummary(path: string, run: RunRow | null, s: RunSummary, runs: RunRow[], loadRefused = 0): StatusReport {
  return {
    state_path: path,
    run: run && {
      id: run.id,
      state: run.state,
      source: run.source,
      local_dir: run.local_dir,
      schema: run.schema_origin,
      started_at: run.started_at,
      finished_at: run.finished_at,
      elapsed_s: s.durations_s.elapsed,
      exit_code: run.exit_code,
      message: run.message,
    },
    totals: s.totals,
    stages: s.stages,
    rejected_by_reason: s.rejected_by_reason,
    error_rate: s.error_rate,
    throughput_mb_s: s.throughput.mb_per_s,
    failed_objects: s.failed_objects,
    runs: runs.map((r) => ({ id: r.id, state: r.state, source: r.source, started_at: r.started_at, exit_code: r.exit_code })),
    gate: s.gate,
    load_refused: loadRefused,
  };
}

/** The human-readable form of a status report. */
export function formatStatus(s: StatusReport): string {
  if (!s.run) return `no runs yet in ${s.state_path}\n`;
  const r = s.run;
  const t = s.totals;
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `run ${r.id}  ${r.state}${r.exit_code !== null ? ` (exit ${r.exit_code})` : ''}`,
    `  source     ${r.source}`,
    `  local dir  ${r.local_dir}`,
    `  rules      ${r.schema}`,
    `  started    ${r.started_at}${r.finished_at ? `   finished ${r.finished_at}` : ''}   elapsed ${r.elapsed_s} s`,
    `objects      ${n(t.objects)} listed, ${n(s.stages.downloaded)} downloaded, ${n(s.stages.cleaned)} cleaned, ${n(t.objects_skipped)} unchanged, ${n(t.objects_failed)} failed, ${n(t.objects_gone)} gone, ${n(t.objects_pending)} pending${
      t.objects_excluded + t.objects_markers ? `; ${n(t.objects_excluded)} excluded, ${n(t.objects_markers)} excluded (marker)` : ''
    }${t.objects_other_shards ? `; ${n(t.objects_other_shards)} in other shards` : ''}`,
    `lines        ${n(t.lines)}: ${n(t.valid)} valid, ${n(t.rejected)} rejected, ${n(t.blank)} blank`,
  ];
  const reasons = Object.entries(s.rejected_by_reason).sort((a, b) => b[1] - a[1]);
  if (reasons.length) lines.push(`rejected     ${reasons.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  lines.push(`error rate   ${(s.error_rate * 100).toFixed(2)}% of non-blank lines`);
  lines.push(`bytes        ${n(t.bytes)} (${s.throughput_mb_s} MB/s)`);
  if (s.load_refused) lines.push(`load         ${n(s.load_refused)} valid line(s) refused by the database (reason load_refused): see ${r.local_dir}/load-refused/`);
  if (s.gate) {
    const limits = [s.gate.max_error_rate !== null ? `max error rate ${(s.gate.max_error_rate * 100).toFixed(2)}%` : '', s.gate.max_rejects !== null ? `max rejects ${s.gate.max_rejects}` : ''].filter(Boolean).join(', ');
    lines.push(`gate         ${s.gate.breached ? 'BREACHED' : 'passed'} (${limits})${s.gate.breached ? ': ' + s.gate.reasons.join('; ') : ''}`);
    for (const q of s.gate.quarantined.slice(0, 20)) lines.push(`  quarantined: ${q.key} (error rate ${(q.error_rate * 100).toFixed(2)}%, ${q.rejected} rejected)`);
  }
  if (r.message) lines.push(`message      ${r.message}`);
  for (const f of s.failed_objects.slice(0, 20)) lines.push(`  failed: ${f.key}: ${f.error}`);
  if (t.objects_failed > 20) lines.push(`  ... and ${n(t.objects_failed - 20)} more failed objects (see --json)`);
  if (s.runs.length > 1) lines.push(`other runs   ${s.runs.filter((x) => x.id !== r.id).slice(0, 5).map((x) => `${x.id} ${x.state}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
