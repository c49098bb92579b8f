/** `cleaner status`: where every run and object stands, as text or stable JSON. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { openState } from '../state/db.js';
import type { GateVerdict } from '../stages/gate.js';
import { getRun, listRuns, runObjects, type RunRow, type RunObjectFigures } from '../state/queries.js';

export interface Totals {
  objects: number;
  objects_done: number;
  objects_skipped: number;
  objects_failed: number;
  objects_gone: number;
  objects_pending: number;
  objects_quarantined: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  bytes: number;
}

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
  totals: Totals;
  stages: { listed: number; downloaded: number; cleaned: number; failed: number };
  rejected_by_reason: Record<string, number>;
  error_rate: number;
  throughput_mb_s: number;
  failed_objects: Array<{ key: string; error: string | null }>;
  runs: Array<{ id: number; state: string; source: string; started_at: string; exit_code: number | null }>;
  /** The quality gate's settings and verdict, or null when the run had no gate. */
  gate: GateVerdict | null;
}

const DOWNLOADED = new Set(['downloaded', 'cleaning', 'publishing', 'done']);

/** Builds the status of run `runId` (default: the latest) from the state at `statePath`. */
export function statusReport(statePath: string, runId?: number): StatusReport {
  const path = resolve(statePath);
  const totals: Totals = { objects: 0, objects_done: 0, objects_skipped: 0, objects_failed: 0, objects_gone: 0, objects_pending: 0, objects_quarantined: 0, lines: 0, valid: 0, rejected: 0, blank: 0, bytes: 0 };
  const empty: StatusReport = { state_path: path, run: null, totals, stages: { listed: 0, downloaded: 0, cleaned: 0, failed: 0 }, rejected_by_reason: {}, error_rate: 0, throughput_mb_s: 0, failed_objects: [], runs: [], gate: null };
  if (!existsSync(path)) return empty;
  const db = openState(path, { readonly: true });
  try {
    const run = getRun(db, runId);
    if (!run) {
      if (runId !== undefined) throw new UsageError(`no run ${runId} in ${path}`);
      return empty;
    }
    const objs = runObjects(db, run.id);
    return build(path, run, objs, listRuns(db));
  } finally {
    db.close();
  }
}

function build(path: string, run: RunRow, objs: RunObjectFigures[], runs: RunRow[]): StatusReport {
  const t: Totals = { objects: 0, objects_done: 0, objects_skipped: 0, objects_failed: 0, objects_gone: 0, objects_pending: 0, objects_quarantined: 0, lines: 0, valid: 0, rejected: 0, blank: 0, bytes: 0 };
  const byReason: Record<string, number> = {};
  const stages = { listed: 0, downloaded: 0, cleaned: 0, failed: 0 };
  const failed: StatusReport['failed_objects'] = [];
  let processedBytes = 0;
  for (const o of objs) {
    t.objects++;
    stages.listed++;
    if (o.action === 'skip') {
      if (o.outcome === 'failed') {
        t.objects_failed++;
        stages.failed++;
        failed.push({ key: o.key, error: o.error });
      } else {
        t.objects_skipped++;
        t.objects_done++;
      }
      continue;
    }
    if (o.quarantined) t.objects_quarantined++;
    t.lines += o.lines;
    t.valid += o.valid;
    t.rejected += o.rejected;
    t.blank += o.blank;
    t.bytes += o.bytes;
    if (o.outcome === 'done') {
      t.objects_done++;
      stages.cleaned++;
      stages.downloaded++;
      processedBytes += o.bytes;
    } else if (o.outcome === 'failed') {
      t.objects_failed++;
      stages.failed++;
      failed.push({ key: o.key, error: o.error });
    } else if (o.outcome === 'gone') t.objects_gone++;
    else {
      t.objects_pending++;
      if (DOWNLOADED.has(o.state)) stages.downloaded++;
    }
    for (const [k, v] of Object.entries(JSON.parse(o.by_reason) as Record<string, number>)) byReason[k] = (byReason[k] ?? 0) + v;
  }
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  const elapsed = Math.max(0, (end - Date.parse(run.started_at)) / 1000);
  const nonBlank = t.valid + t.rejected;
  return {
    state_path: path,
    run: {
      id: run.id,
      state: run.state,
      source: run.source,
      local_dir: run.local_dir,
      schema: run.schema_origin,
      started_at: run.started_at,
      finished_at: run.finished_at,
      elapsed_s: Math.round(elapsed * 10) / 10,
      exit_code: run.exit_code,
      message: run.message,
    },
    totals: t,
    stages,
    rejected_by_reason: byReason,
    error_rate: nonBlank ? t.rejected / nonBlank : 0,
    throughput_mb_s: elapsed > 0 ? Math.round((processedBytes / 1e6 / elapsed) * 10) / 10 : 0,
    failed_objects: failed,
    runs: runs.map((r) => ({ id: r.id, state: r.state, source: r.source, started_at: r.started_at, exit_code: r.exit_code })),
    gate: run.gate ? (JSON.parse(run.gate) as GateVerdict) : null,
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
    `objects      ${n(t.objects)} listed, ${n(s.stages.downloaded)} downloaded, ${n(s.stages.cleaned)} cleaned, ${n(t.objects_skipped)} unchanged, ${n(t.objects_failed)} failed, ${n(t.objects_gone)} gone, ${n(t.objects_pending)} pending`,
    `lines        ${n(t.lines)}: ${n(t.valid)} valid, ${n(t.rejected)} rejected, ${n(t.blank)} blank`,
  ];
  const reasons = Object.entries(s.rejected_by_reason).sort((a, b) => b[1] - a[1]);
  if (reasons.length) lines.push(`rejected     ${reasons.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  lines.push(`error rate   ${(s.error_rate * 100).toFixed(2)}% of non-blank lines`);
  lines.push(`bytes        ${n(t.bytes)} (${s.throughput_mb_s} MB/s)`);
  if (s.gate) {
    const limits = [s.gate.max_error_rate !== null ? `max error rate ${(s.gate.max_error_rate * 100).toFixed(2)}%` : '', s.gate.max_rejects !== null ? `max rejects ${s.gate.max_rejects}` : ''].filter(Boolean).join(', ');
    lines.push(`gate         ${s.gate.breached ? 'BREACHED' : 'passed'} (${limits})${s.gate.breached ? ': ' + s.gate.reasons.join('; ') : ''}`);
    for (const q of s.gate.quarantined.slice(0, 20)) lines.push(`  quarantined: ${q.key} (error rate ${(q.error_rate * 100).toFixed(2)}%, ${q.rejected} rejected)`);
  }
  if (r.message) lines.push(`message      ${r.message}`);
  for (const f of s.failed_objects.slice(0, 20)) lines.push(`  failed: ${f.key}: ${f.error}`);
  if (s.failed_objects.length > 20) lines.push(`  ... and ${s.failed_objects.length - 20} more failed objects (see --json)`);
  if (s.runs.length > 1) lines.push(`other runs   ${s.runs.filter((x) => x.id !== r.id).slice(0, 5).map((x) => `${x.id} ${x.state}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
