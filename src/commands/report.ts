/** `cleaner report`: a run's report as JSON, or rendered as one self-contained HTML page. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { openState } from '../state/db.js';
import { buildReport, type RunReport } from '../report/build.js';
import { renderHtml } from '../report/html.js';

/** Builds the report of run `runId` (default latest); writes HTML to `html` when given. */
export function reportCommand(opts: { state: string; runId?: number; html?: string }): { report: RunReport; htmlPath?: string } {
  const statePath = resolve(opts.state);
  if (!existsSync(statePath)) throw new UsageError(`no state at ${statePath}: nothing to report (pass --state)`);
  const db = openState(statePath, { readonly: true });
  let report: RunReport | undefined;
  try {
    report = buildReport(db, opts.runId);
  } finally {
    db.close();
  }
  if (!report) throw new UsageError(opts.runId !== undefined ? `no run ${opts.runId} in ${statePath}` : `no runs yet in ${statePath}`);
  if (!opts.html) return { report };
  const htmlPath = resolve(opts.html);
  try {
    writeFileSync(htmlPath, renderHtml(report));
  } catch (err) {
    throw new UsageError(`cannot write ${htmlPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { report, htmlPath };
}
