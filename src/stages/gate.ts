/**
 * The quality gate: bad data must be able to stop a pipeline before it reaches the warehouse.
 *
 * Per object, `--max-error-rate` is applied when the object is published (clean-file.ts): a
 * breaching object's output goes to quarantine/ and never appears in output/. Per run, the same
 * rate over all the run's non-blank lines, and `--max-rejects` over all its rejected lines, are
 * judged when the run ends: a breach moves the outputs of every object this run cleaned to
 * quarantine/, since the batch as a whole is not trusted.
 */
import { existsSync } from 'node:fs';
import type { Db } from '../state/db.js';
import { eachRunObject, markQuarantined, setRunGate, type RunRow } from '../state/queries.js';
import { objectPaths } from '../keys/local-layout.js';
import { renameDurably } from '../sinks/fsync-dir.js';

/** The gate's verdict, stored with the run and shown by status and the report. */
export interface GateVerdict {
  max_error_rate: number | null;
  max_rejects: number | null;
  breached: boolean;
  /** Human-readable reasons, one per breached limit. */
  reasons: string[];
  error_rate: number;
  rejected: number;
  /** Objects whose output is in quarantine/, with their error rates: the first QUARANTINED_LISTED in key order. */
  quarantined: Array<{ key: string; error_rate: number; rejected: number }>;
  /** How many objects are in quarantine/ (absent from verdicts stored before it was added: then `quarantined` lists all). */
  quarantined_total?: number;
}

/** Quarantined objects a verdict names: it is stored with the run and read whole by status and the report. */
export const QUARANTINED_LISTED = 1000;

/** Judges the run against its limits and quarantines what breaches; undefined when no gate is set. */
export function applyGate(db: Db, run: RunRow, limits: { maxErrorRate: number | null; maxRejects: number | null }, listed = QUARANTINED_LISTED): GateVerdict | undefined {
  if (limits.maxErrorRate === null && limits.maxRejects === null) return undefined;
  // Two passes over the cleaned objects, a page at a time: the totals decide, then each object is judged.
  let valid = 0;
  let rejected = 0;
  for (const o of eachRunObject(db, run.id, 'cleaned')) {
    valid += o.valid;
    rejected += o.rejected;
  }
  const rate = valid + rejected > 0 ? rejected / (valid + rejected) : 0;
  const reasons: string[] = [];
  if (limits.maxErrorRate !== null && rate > limits.maxErrorRate) {
    reasons.push(`run error rate ${pct(rate)} is above --max-error-rate ${pct(limits.maxErrorRate)}`);
  }
  if (limits.maxRejects !== null && rejected > limits.maxRejects) {
    reasons.push(`run rejected ${rejected} lines, more than --max-rejects ${limits.maxRejects}`);
  }
  const runBreached = reasons.length > 0;
  let quarantined: GateVerdict['quarantined'] = [];
  let total = 0;
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  for (const o of eachRunObject(db, run.id, 'cleaned')) {
    const nonBlank = o.valid + o.rejected;
    const r = nonBlank > 0 ? o.rejected / nonBlank : 0;
    if (runBreached && !o.quarantined) {
      const p = objectPaths(run.local_dir, o.rel_path);
      if (existsSync(p.output)) renameDurably(p.output, p.quarantine);
      markQuarantined(db, run.id, o.object_id);
      o.quarantined = 1;
    }
    if (!o.quarantined) continue;
    total++;
    quarantined.push({ key: o.key, error_rate: r, rejected: o.rejected });
    // Pages come in object id order (first listed first); the verdict names the first objects in key order.
    if (quarantined.length >= 2 * listed) quarantined = quarantined.sort(byKey).slice(0, listed);
  }
  quarantined = quarantined.sort(byKey).slice(0, listed);
  if (!runBreached && total > 0) {
    reasons.push(`${total} object(s) above --max-error-rate ${pct(limits.maxErrorRate ?? 0)}`);
  }
  const verdict: GateVerdict = {
    max_error_rate: limits.maxErrorRate,
    max_rejects: limits.maxRejects,
    breached: reasons.length > 0,
    reasons,
    error_rate: rate,
    rejected,
    quarantined,
    quarantined_total: total,
  };
  setRunGate(db, run.id, verdict);
  return verdict;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}
