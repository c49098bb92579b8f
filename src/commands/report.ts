/** `cleaner report`: a run's report as JSON, or rendered as one self-contained HTML page. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { openState } from '../state/db.js';
import { getRun } from '../state/queries.js';
import { buildPageReport, reportJson } from '../report/build.js';
import { renderHtml } from '../report/html.js';

/**
 * Hands the JSON report of run `runId` (default latest) to `write` in chunks, as the state is read
 * a page at a time (`write` is awaited, so output can drain); or, with `html`, writes the page
 * there (the worst objects and every figure) and returns its path.
 */
export async function reportCommand(opts: { state: string; runId?: number; html?: string }, write: (chunk: string) => void | Promise<void>): Promise<{ htmlPath?: string }> {
  const statePath = resolve(opts.state);
  if (!existsSync(statePath)) throw new UsageError(`no state at ${statePath}: nothing to report (pass --state)`);
  const db = openState(statePath, { readonly: true });
  const missing = () => new UsageError(opts.runId !== undefined ? `no run ${opts.runId} in ${statePath}` : `no runs yet in ${statePath}`);
  let html: string;
  try {
    if (!opts.html) {
      const run = getRun(db, opts.runId);
      if (!run) throw missing();
      for (const chunk of reportJson(db, run, true)) await write(chunk);
      return {};
    }
    const page = buildPageReport(db, opts.runId);
    if (!page) throw missing();
    html = renderHtml(page.report, page.objectsInRun);
  } finally {
    db.close();
  }
  const htmlPath = resolve(opts.html);
  try {
    writeFileSync(htmlPath, html);
  } catch (err) {
    throw new UsageError(`cannot write ${htmlPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { htmlPath };
}
